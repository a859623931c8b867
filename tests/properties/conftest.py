"""Fixtures and budgets of the property tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _quiet_debug_logs() -> None:
    # Property tests run thousands of appends and loads: rendering each debug
    # line would cost more than the test itself.
    # The root conftest.py restores structlog's configuration after each test.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The test server's DSN (skips, or fails under CI, when it is unreachable)."""
    from postgres_support import TEST_DSN, require_postgres

    return require_postgres(TEST_DSN)


@pytest.fixture(scope="session")
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A migrated schema of this session's property tests, dropped at the end."""
    from postgres_support import session_schema

    with session_schema(pg_dsn) as schema:
        yield schema

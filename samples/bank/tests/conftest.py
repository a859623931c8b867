"""Fixtures of the bank's property tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog


@pytest.fixture(autouse=True)
def _quiet_debug_logs() -> Iterator[None]:
    # Property tests run thousands of loads and saves: rendering each debug
    # line would cost more than the test itself. Restored afterwards, so
    # other tests see structlog as they left it.
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    yield
    structlog.configure(**saved)

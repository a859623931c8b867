"""The tests folder's own conftest.

Its presence puts tests/ on sys.path, so test modules import the shared
support modules (`postgres_support`) by name. The settings every test shares
are in the repository's root conftest.py, which also enables the store
plugin (`eventsourcing_kit.testing.plugin`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

POSTGRES_TESTS = Path(__file__).parent / "postgres"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every test of tests/postgres/ needs the server. A conftest's
    # `pytestmark` marks nothing (only a test module's does), so the marker
    # is put on here, before `-m` selects.
    for item in items:
        if item.path.is_relative_to(POSTGRES_TESTS):
            item.add_marker(pytest.mark.postgres)

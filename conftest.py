"""Settings shared by every test (tests/ and samples/); folders add their own fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

# The store contract lives in the package; rewrite its asserts so failures show values.
pytest.register_assert_rewrite("eventsourcing_kit.testing")

# Stores for tests: store_factory, store_backend, store, postgres_dsn and the
# --eventsourcing-kit-dsn option, the way users get them (docs/testing.md).
pytest_plugins = ["eventsourcing_kit.testing.plugin"]

# ci: few examples and no deadline (shared, slow machines); dev: the local
# default; thorough: for a long run before a release.
settings.register_profile(
    "ci",
    max_examples=20,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _structlog_as_it_was() -> Iterator[None]:
    # Code under test may configure structlog as an application does (the CLI,
    # the demo); a configuration left behind would point later tests' log
    # lines at a captured stream pytest has already closed.
    # Unconfigured stays unconfigured: the kit logs differently then.
    configured = structlog.is_configured()
    saved = structlog.get_config()
    yield
    if configured:
        structlog.configure(**saved)
    else:
        structlog.reset_defaults()

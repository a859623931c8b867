"""`StoreFactory`: fresh stores on storage of their own for one test, cleaned up after it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores import EventStore, connect
from eventsourcing_kit.testing._dynamodb_server import DYNAMODB_DEFAULTS, DynamoDBServer
from eventsourcing_kit.testing._postgres_server import PostgresServer, with_schema

__all__ = ["BACKENDS", "DYNAMODB_DEFAULTS", "POSTGRES_DEFAULTS", "StoreFactory"]

BACKENDS = ("memory", "sqlite", "postgres", "dynamodb")

POSTGRES_DEFAULTS: dict[str, Any] = {"visibility_wait": 30.0}
"""Options every PostgreSQL store of the factory gets unless the test gives its own.

A test server is often shared (parallel sessions, other projects): their
running transactions hold the delivery of later commits back (docs/postgres.md,
"The global order"). A generous `visibility_wait` lets a reader return what
already committed however loaded the server is; on a quiet server it costs
nothing.
"""


class _Storage:
    """What one `open` made: where the data lives and every store opened on it."""

    def __init__(self, backend: str, url: str, options: dict[str, Any]) -> None:
        self.backend = backend
        self.url = url
        self.options = options
        self.stores: list[EventStore] = []
        self.schema: str | None = None
        self.table: str | None = None


class StoreFactory:
    """Opens fresh, empty event stores for one test and cleans up after it.

    Get it from the ``store_factory`` fixture of the pytest plugin
    ``eventsourcing_kit.testing.plugin``. Every `open` gives a store on
    storage of its own:

    - ``"memory"``: a new in-memory store;
    - ``"sqlite"``: a new file in the test's ``tmp_path``;
    - ``"postgres"``: a new schema (named ``eskit_test_...``) with every
      migration applied, on the server of ``--eventsourcing-kit-dsn`` or env
      ``EVENTSOURCING_KIT_TEST_DSN``. When that server does not answer, the
      test is skipped, or failed when env ``CI`` is set.
    - ``"dynamodb"``: a new table (named ``eskit_test_...``) on the emulator
      of ``--eventsourcing-kit-dynamodb`` or env
      ``EVENTSOURCING_KIT_TEST_DYNAMODB``, else on DynamoDB Local, installed
      if missing and started for the session. When it cannot run, the test
      is skipped, or failed when env ``CI`` is set.

    When the test ends, passed or failed, every store the factory opened is
    closed and every schema or table it made is dropped.
    """

    def __init__(
        self, *, directory: Path, postgres: PostgresServer, dynamodb: DynamoDBServer
    ) -> None:
        self._directory = directory
        self._postgres = postgres
        self._dynamodb = dynamodb
        self._storages: list[_Storage] = []
        self._opened: dict[int, tuple[EventStore, _Storage]] = {}
        self._files = 0

    async def open(self, backend: str, /, **options: Any) -> EventStore:
        """A fresh, empty store of `backend` ("memory", "sqlite", "postgres" or "dynamodb").

        Keyword options go to the backend (see `connect`): for example
        ``busy_timeout=`` on SQLite, ``max_size=`` on PostgreSQL. PostgreSQL
        stores get ``visibility_wait=30`` unless you give another; DynamoDB
        stores get `DYNAMODB_DEFAULTS` (the emulator's credentials).
        """
        if backend == "memory":
            return await self._first(_Storage(backend, "memory://", options))
        if backend == "sqlite":
            self._files += 1
            path = self._directory / f"store-{self._files}.db"
            # An absolute path: sqlite:////tmp/... (four slashes).
            return await self._first(_Storage(backend, f"sqlite:///{path}", options))
        if backend == "postgres":
            if "schema" in options:
                raise ConfigurationError(
                    "store_factory gives every PostgreSQL store a schema of its own; "
                    "drop the schema option"
                )
            dsn = await self._postgres.require()
            schema = self._postgres.new_schema_name()
            options = {"migrate": False, **POSTGRES_DEFAULTS, **options}
            storage = _Storage(backend, with_schema(dsn, schema), options)
            # Recorded before the schema exists: a migration that fails
            # half-way leaves a schema that close() drops all the same.
            storage.schema = schema
            self._storages.append(storage)
            await self._postgres.migrate(schema)
            return await self._connect(storage, options)
        if backend == "dynamodb":
            await self._dynamodb.require()
            table = self._dynamodb.new_table_name()
            options = self._dynamodb.store_options(options)
            storage = _Storage(backend, self._dynamodb.url(table), options)
            # Recorded before the table exists: close() deletes it all the same.
            storage.table = table
            self._storages.append(storage)
            return await self._connect(storage, options)
        raise ConfigurationError(
            f"unknown backend {backend!r} for store_factory.open(); use one of {BACKENDS}"
        )

    async def reopen(self, store: EventStore, /, **options: Any) -> EventStore:
        """Another store object on the storage of `store` (another connection
        pool, another file handle), with the options `store` was opened with
        updated by `options`. `store` may be closed already (a restart).

        A memory store has no storage outside its one object: the test is
        skipped there.
        """
        storage = self._storage_of(store)
        if storage.backend == "memory":
            pytest.skip(
                "a memory store keeps its events in its one object: "
                "no second store can be opened on them"
            )
        if "schema" in options:
            raise ConfigurationError("reopen() opens the same schema; drop the schema option")
        return await self._connect(storage, {**storage.options, **options})

    def url(self, store: EventStore) -> str:
        """The URL `connect()` opens the storage of `store` with.

        ``sqlite:////.../store-1.db``, ``postgresql://...?schema=eskit_test_...``;
        for a memory store ``memory://``, which opens a new, empty store.
        """
        return self._storage_of(store).url

    async def close(self) -> None:
        """Close every store opened here and drop every schema and table made here.

        The fixture calls it when the test ends. Each step runs even if an
        earlier one failed; the failures are raised together afterwards.
        """
        storages, self._storages, self._opened = self._storages, [], {}
        errors: list[Exception] = []
        for storage in reversed(storages):
            for store in reversed(storage.stores):
                try:
                    await store.close()
                except Exception as error:
                    errors.append(error)
            if storage.schema is not None:
                try:
                    await self._postgres.drop_schema(storage.schema)
                except Exception as error:
                    errors.append(error)
            if storage.table is not None:
                try:
                    await self._dynamodb.drop_table(storage.table)
                except Exception as error:
                    errors.append(error)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ExceptionGroup("store_factory could not clean up everything it opened", errors)

    async def _first(self, storage: _Storage) -> EventStore:
        self._storages.append(storage)
        return await self._connect(storage, storage.options)

    async def _connect(self, storage: _Storage, options: dict[str, Any]) -> EventStore:
        store = await connect(storage.url, **options)
        storage.stores.append(store)
        self._opened[id(store)] = (store, storage)
        return store

    def _storage_of(self, store: EventStore) -> _Storage:
        # Keyed by id(): every store is kept alive here until close(), so no
        # other object can take its id meanwhile.
        opened = self._opened.get(id(store))
        if opened is None or opened[0] is not store:
            raise ConfigurationError(f"{store!r} was not opened by this store_factory")
        return opened[1]

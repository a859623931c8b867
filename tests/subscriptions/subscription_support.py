"""Helpers for the subscription tests: backends that reopen, a read model, waiting."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent
from eventsourcing_kit.subscriptions import HandlerContext, RetryPolicy
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS

NO_WAIT = RetryPolicy(max_retries=2, initial_delay=0.0)
"""Retries without backoff sleeps, so failure tests stay quick."""

GUARD_S = 20.0
"""How long a test waits for something that should happen at once: a hang guard only."""


class Backend:
    """One backend's storage, opened again as often as a test restarts.

    `store` is the first store on it (the `store` fixture); `open()` opens
    another store object on the same storage and closes it afterwards. A
    memory store has no storage outside its object: there `open()` gives
    `store` itself, and leaves it open. `url` and `options` say where the
    storage is, for a worker process: the SQLite URL, or the PostgreSQL DSN
    and {"schema": name}; `environment` is the worker's environment (on
    DynamoDB, the emulator's credentials, which the standard AWS chain reads).
    """

    def __init__(self, name: str, factory: StoreFactory, store: EventStore) -> None:
        self.name = name
        self.store = store
        self._factory = factory
        url = factory.url(store)
        self.options: dict[str, Any] = {}
        if name == "postgres":
            from eventsourcing_kit.stores.postgres import split_schema

            url, schema = split_schema(url)
            self.options = {"schema": schema}
        self.url = url
        self.environment = dict(os.environ)
        if name == "dynamodb":
            self.environment["AWS_ACCESS_KEY_ID"] = DYNAMODB_DEFAULTS["aws_access_key_id"]
            self.environment["AWS_SECRET_ACCESS_KEY"] = DYNAMODB_DEFAULTS["aws_secret_access_key"]

    @asynccontextmanager
    async def open(self) -> AsyncIterator[EventStore]:
        """A store on this backend's storage (in memory: `store` again)."""
        if self.name == "memory":
            yield self.store
            return
        store = await self._factory.reopen(self.store)
        try:
            yield store
        finally:
            await store.close()


class ReadModel:
    """A table of handled event ids, written inside the checkpoint transaction."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.table = "seen_" + secrets.token_hex(4)

    def _qualified(self) -> str:
        from eventsourcing_kit.stores.postgres import quote_identifier

        return f"{quote_identifier(self.backend.options['schema'])}.{self.table}"

    @property
    def name(self) -> str:
        """The table's name as SQL on this backend (schema-qualified on PostgreSQL)."""
        return self.table if self.backend.name == "sqlite" else self._qualified()

    async def create(self) -> None:
        if self.backend.name == "sqlite":
            with self._sqlite() as connection:
                connection.execute(f"CREATE TABLE {self.table} (event_id TEXT NOT NULL)")
        else:
            await self._pg("execute", f"CREATE TABLE {self._qualified()} (event_id TEXT NOT NULL)")

    async def drop(self) -> None:
        if self.backend.name == "postgres":
            await self._pg("execute", f"DROP TABLE IF EXISTS {self._qualified()}")

    async def record(self, context: HandlerContext, event_id: object) -> None:
        """What a transactional handler does: write through the context's connection."""
        if self.backend.name == "sqlite":
            context.connection.execute(
                f"INSERT INTO {self.table} (event_id) VALUES (?)", (str(event_id),)
            )
        else:
            await context.connection.execute(
                f"INSERT INTO {self._qualified()} (event_id) VALUES ($1)", str(event_id)
            )

    async def rows(self) -> list[str]:
        """The committed event ids, one per row (duplicates included)."""
        if self.backend.name == "sqlite":
            with self._sqlite() as connection:
                return [row[0] for row in connection.execute(f"SELECT event_id FROM {self.table}")]
        rows = await self._pg("fetch", f"SELECT event_id FROM {self._qualified()}")
        return [row[0] for row in rows]

    def _sqlite(self) -> sqlite3.Connection:
        path = self.backend.url.removeprefix("sqlite:///")
        return sqlite3.connect(path, isolation_level=None)

    async def _pg(self, method: str, sql: str) -> Any:
        import asyncpg

        connection = await asyncpg.connect(self.backend.url)
        try:
            return await getattr(connection, method)(sql)
        finally:
            await connection.close()


async def append(
    store: EventStore, stream_id: str, count: int, event_type: str = "Happened"
) -> None:
    """Append `count` events to `stream_id`, one append each."""
    for _ in range(count):
        await store.append_events(stream_id, [NewEvent(event_type, {"n": secrets.randbelow(10)})])


class Versions(list[int]):
    """A handler that records the version of each event handed to it, in order."""

    async def __call__(self, event: RecordedEvent) -> None:
        self.append(event.version)


async def until(condition: Callable[[], bool]) -> None:
    """Wait until `condition()` holds; fail after GUARD_S (a hang guard, not a timing check)."""

    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - the conditions are plain reads of test state
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), GUARD_S)

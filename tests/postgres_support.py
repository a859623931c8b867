"""PostgreSQL test plumbing beyond the store plugin: unmigrated schemas, more stores.

Stores for tests come from the plugin (`store_factory`, the `pg_store`
fixture). This module serves the tests that need what the plugin does not
hand out: a schema name to migrate by hand, a second store on a schema with
other options, a pool of the test's own (a user's pool, `from_pool`) whose
connections note what the store does with them, a table held locked. Import
it from any test folder (``from postgres_support import ...``; the tests
folder is on sys.path through its conftest.py). Every schema it names is
``eskit_test_<random>`` and dropped by whoever made it.

What a store sends and on which connection is watched from the user's side
only: asyncpg lets a pool's owner choose its `connection_class`, so the
test's class notes each statement as it starts. The store is never opened up.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import attrs

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

__all__ = [
    "Sent",
    "WatchedPool",
    "drop_schema",
    "group_statements",
    "lent_out",
    "new_schema_name",
    "open_store",
    "table_locked",
    "until",
    "users_pool",
    "waiting_for_lock",
    "watched_pool",
]

SCHEMA_PREFIX = "eskit_test_"


def new_schema_name() -> str:
    """A schema name no other test session uses."""
    return SCHEMA_PREFIX + secrets.token_hex(6)


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema this test session created, with everything in it."""
    assert schema.startswith(SCHEMA_PREFIX), schema
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")
    finally:
        await connection.close()


@asynccontextmanager
async def open_store(dsn: str, schema: str, **options: object) -> AsyncIterator[PostgresEventStore]:
    """A store on an already migrated schema, closed afterwards."""
    store = await PostgresEventStore.open(dsn, schema=schema, migrate=False, **options)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        await store.close()


async def until(condition: Callable[[], bool], *, within: float = 10.0) -> bool:
    """Poll `condition` every 10 ms; False if it still fails after `within` s.

    A bound against hanging, not a speed check.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def lent_out(pool: asyncpg.Pool) -> int:
    """Connections of `pool` acquired and not given back (those a store keeps included)."""
    return pool.get_size() - pool.get_idle_size()


@asynccontextmanager
async def users_pool(
    dsn: str, *, min_size: int = 1, max_size: int = 10, **options: Any
) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the test's own, like a user's.

    Terminated afterwards in any case, so that a connection a failing test
    left acquired cannot hang the teardown (`Pool.close` waits for it).
    `options` go to ``asyncpg.create_pool`` (``connection_class``, ``setup``).
    """
    pool = await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, **options)
    try:
        yield pool
    finally:
        pool.terminate()  # nothing to do once closed


@attrs.frozen
class Sent:
    """One statement a connection of a watched pool started."""

    connection: asyncpg.Connection = attrs.field(repr=False)
    task: asyncio.Task[Any] | None = attrs.field(repr=False)
    query: str
    args: tuple[Any, ...]

    def carries(self, value: object) -> bool:
        """Whether `value` is one of the statement's arguments, or in one of its arrays."""
        return any(arg == value or (isinstance(arg, list) and value in arg) for arg in self.args)

    def calls(self, function: str) -> bool:
        """Whether the statement calls the store's SQL function `function`
        (``append_group``, ``append_events``...: store/postgres/*.sql)."""
        return re.search(rf"\b{re.escape(function)}\(", self.query) is not None


def group_statements(sent: Sequence[Sent], appends: Sequence[Sequence[NewEvent]]) -> list[Sent]:
    """The statements of `sent` that carried events of more than one of
    `appends` (each one append's events): the group commits."""
    return [
        statement
        for statement in sent
        if sum(any(statement.carries(event.event_id) for event in append) for append in appends) > 1
    ]


@attrs.define
class WatchedPool:
    """A user's pool whose connections note what is done with them, in order."""

    pool: asyncpg.Pool
    sent: list[Sent] = attrs.Factory(list)
    """Every statement, as it starts."""
    finished: list[asyncpg.Connection] = attrs.Factory(list)
    """The connection of every statement, as it finishes."""
    listening: list[asyncpg.Connection] = attrs.Factory(list)
    """Every connection a LISTEN was started on."""

    def last(self) -> Sent:
        """The statement started last."""
        return self.sent[-1]


def _noting(watched: WatchedPool) -> type[asyncpg.Connection]:
    class NotingConnection(asyncpg.Connection):
        async def fetch(self, query: str, *args: Any, **options: Any) -> Any:
            return await self.noted(super().fetch, query, args, options)

        async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
            return await self.noted(super().fetchrow, query, args, options)

        async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
            return await self.noted(super().fetchval, query, args, options)

        async def execute(self, query: str, *args: Any, **options: Any) -> Any:
            return await self.noted(super().execute, query, args, options)

        async def add_listener(self, channel: str, callback: Any) -> None:
            watched.listening.append(self)
            await super().add_listener(channel, callback)

        async def noted(
            self, method: Any, query: str, args: tuple[Any, ...], options: dict[str, Any]
        ) -> Any:
            if query == self.get_reset_query():
                # The pool cleaning up on release: not a statement of the store.
                return await method(query, *args, **options)
            watched.sent.append(Sent(self, asyncio.current_task(), query, args))
            result = await method(query, *args, **options)
            watched.finished.append(self)
            return result

    return NotingConnection


@asynccontextmanager
async def watched_pool(dsn: str, *, max_size: int = 10) -> AsyncIterator[WatchedPool]:
    """A `users_pool` whose connections note each statement and LISTEN."""
    watched = WatchedPool(pool=None)  # type: ignore[arg-type]  # set just below
    async with users_pool(dsn, max_size=max_size, connection_class=_noting(watched)) as pool:
        watched.pool = pool
        yield watched


@asynccontextmanager
async def table_locked(dsn: str, schema: str, table: str) -> AsyncIterator[None]:
    """Hold `schema`.`table` locked (ACCESS EXCLUSIVE) from a connection of its
    own until the block ends: the store's statements on it wait meanwhile."""
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(
                f"LOCK TABLE {quote_identifier(schema)}.{quote_identifier(table)} "
                "IN ACCESS EXCLUSIVE MODE"
            )
            yield
    finally:
        await connection.close()


async def waiting_for_lock(dsn: str, schema: str, table: str) -> int:
    """The server pid of the session waiting for a lock on `schema`.`table`,
    once one does."""
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(1000):
            pid: int | None = await connection.fetchval(
                "SELECT pid FROM pg_locks WHERE NOT granted AND relation = "
                "to_regclass(quote_ident($1) || '.' || quote_ident($2))",
                schema,
                table,
            )
            if pid is not None:
                return pid
            await asyncio.sleep(0.01)
    finally:
        await connection.close()
    raise AssertionError(f"no session waited for a lock on {schema}.{table}")

"""`PostgresEventStore`: the core `EventStore` on the PostgreSQL driver.

The store adds what only PostgreSQL has: opening on a DSN or a pool, and
appends that join a caller's transaction. Everything else is the core's;
the driver and its parts are described in `_driver`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager

import asyncpg

from eventsourcing_kit.errors import ConfigurationError, StoreError
from eventsourcing_kit.stores.driver import (
    AppendResult,
    CheckpointTransaction,
    EventStore,
    ExpectedVersion,
    NewEvent,
    StreamAppend,
    prepare_appends,
    prepare_write,
)
from eventsourcing_kit.stores.postgres._connect import (
    DEFAULT_CONNECT_TIMEOUT,
    QuietReset,
    check_dsn,
    create_pool,
    open_connection,
    server_settings,
    split_schema,
)
from eventsourcing_kit.stores.postgres._driver import PostgresDriver
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._migrations import DEFAULT_SCHEMA, migrate
from eventsourcing_kit.stores.postgres._options import (
    DEFAULT_NOTIFY_DELAY,
    DEFAULT_VISIBILITY_WAIT,
    NotifyOption,
    PoolOptions,
    PostgresOptions,
)

__all__ = ["PostgresEventStore"]


class PostgresEventStore(EventStore):
    """An event store in a PostgreSQL schema (``postgresql://``).

    Open one with `open` (from a DSN; the store owns and closes its pool) or
    `from_pool` (on an ``asyncpg.Pool`` you own: `close` leaves it open).
    Positions are pairs ``(transaction id, global position)``; see
    docs/postgres.md for the order they follow and why it never skips.
    """

    _driver: PostgresDriver

    def __init__(self, driver: PostgresDriver) -> None:
        """Prefer `open` or `from_pool`, which also migrate the schema."""
        super().__init__(driver)

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        statement_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        migrate: bool = True,
        notify: NotifyOption = "coalesced",
        visibility_wait: float = DEFAULT_VISIBILITY_WAIT,
        notify_delay: float = DEFAULT_NOTIFY_DELAY,
        group_commit: bool = True,
    ) -> PostgresEventStore:
        """Connect to `dsn` with a pool of its own, migrating `schema` first.

        `schema` defaults to the DSN's ``?schema=NAME``, else ``eventsourcing``.

        `statement_timeout` (seconds) bounds every statement on the pool's
        connections; `migrate=False` skips applying pending migrations (run
        ``eventsourcing-kit migrate`` instead). `notify` chooses when appends
        wake live readers (see `NotifyMode`); with ``"coalesced"``, other
        processes' readers hear of an append up to `notify_delay` seconds
        (plus a round trip) after it commits, so that bursts share one NOTIFY.
        `visibility_wait` (seconds) bounds how long a reader at the end of the log waits for older
        transactions still running, so that it returns events that already
        committed. `group_commit` (on by default) sends the
        appends that queue up while one of this store's appends is in flight
        in one transaction (see `_postgres_group`); False gives every append
        a transaction of its own. Raises
        `StoreUnavailableError` when the server cannot be reached.
        """
        dsn, url_schema = split_schema(check_dsn(dsn))
        if schema is not None and url_schema is not None and schema != url_schema:
            raise ConfigurationError(
                f"the DSN names schema {url_schema!r} and the schema option {schema!r}; "
                "give one of them"
            )
        options = PostgresOptions.check(
            schema=schema or url_schema or DEFAULT_SCHEMA,
            notify=notify,
            visibility_wait=visibility_wait,
            notify_delay=notify_delay,
            group_commit=group_commit,
        )
        sizes = PoolOptions.check(
            min_size=min_size,
            max_size=max_size,
            statement_timeout=statement_timeout,
            connect_timeout=connect_timeout,
        )
        quiet_reset = QuietReset()
        pool = await create_pool(
            dsn,
            min_size=sizes.min_size,
            max_size=sizes.max_size,
            timeout=sizes.connect_timeout,
            statement_timeout=sizes.statement_timeout,
            reset=quiet_reset,
        )
        try:
            if migrate:
                await _migrate(pool, options.schema)
            driver = PostgresDriver(
                pool,
                options,
                owns_pool=True,
                quiet_reset=quiet_reset,
                notify_connect=functools.partial(
                    open_connection,
                    dsn,
                    timeout=sizes.connect_timeout,
                    server_settings=server_settings(sizes.statement_timeout),
                ),
            )
            return cls(driver)
        except BaseException:
            await pool.close()
            raise

    @classmethod
    async def from_pool(
        cls,
        pool: asyncpg.Pool,
        *,
        schema: str = DEFAULT_SCHEMA,
        migrate: bool = True,
        notify: NotifyOption = "coalesced",
        visibility_wait: float = DEFAULT_VISIBILITY_WAIT,
        notify_delay: float = DEFAULT_NOTIFY_DELAY,
        group_commit: bool = True,
    ) -> PostgresEventStore:
        """A store on your `pool`; `close` leaves the pool open.

        The pool keeps its own ``reset``; asyncpg's default sends one more
        round trip on every release (see docs/postgres.md, "Your own pool").
        """
        options = PostgresOptions.check(
            schema=schema,
            notify=notify,
            visibility_wait=visibility_wait,
            notify_delay=notify_delay,
            group_commit=group_commit,
        )
        if migrate:
            await _migrate(pool, options.schema)
        return cls(PostgresDriver(pool, options, owns_pool=False))

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the store runs on."""
        return self._driver.pool

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the store's tables."""
        return self._driver.schema

    async def append_events(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | ExpectedVersion = ExpectedVersion.ANY,
        connection: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append atomically; see `EventStore.append_events`.

        `connection`: append on your connection, inside your open transaction,
        so that the events commit or roll back with your other writes. Without
        one the append is its own transaction on the store's pool.
        """
        self._check_open()
        write = prepare_write(stream_id, events, expected_version)
        return (await self._append((write,), connection))[0]

    async def append_many(
        self,
        appends: Iterable[StreamAppend],
        *,
        connection: asyncpg.Connection | None = None,
    ) -> list[AppendResult]:
        """Append to several streams atomically; see `EventStore.append_many`.

        `connection`: as for `append_events`, the streams' events commit or
        roll back with your transaction. A stream that does not hold its
        expected version undoes only this append (a savepoint), not your
        transaction.
        """
        self._check_open()
        writes = prepare_appends(appends)
        return await self._append(writes, connection)

    def checkpoint_transaction(
        self, subscription_id: str
    ) -> AbstractAsyncContextManager[CheckpointTransaction]:
        """A transaction on one pool connection that ends by storing the checkpoint.

        `CheckpointTransaction.connection` is that ``asyncpg.Connection``:
        read-model writes made through it commit together with the
        checkpoint, or not at all (exactly-once processing). Appends through
        the store inside the block are transactions of their own; pass
        ``connection=transaction.connection`` to `append_events` to make
        them part of it.
        """
        return super().checkpoint_transaction(subscription_id)


async def _migrate(pool: asyncpg.Pool, schema: str) -> None:
    try:
        await migrate(pool, schema=schema)
    except StoreError:
        raise
    except DRIVER_ERRORS as error:
        raise translate_error(error, schema=schema) from error

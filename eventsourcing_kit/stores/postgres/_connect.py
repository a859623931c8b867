"""Opening connections and pools, with one clear error when the server is away."""

from __future__ import annotations

from typing import Any

import asyncpg

from eventsourcing_kit.errors import ConfigurationError, StoreUnavailableError
from eventsourcing_kit.stores.driver import redact_url, split_schema

__all__ = [
    "QuietReset",
    "check_dsn",
    "create_pool",
    "open_connection",
    "server_settings",
    "split_schema",
]

DEFAULT_CONNECT_TIMEOUT = 10.0


def _unavailable(dsn: str, error: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"cannot connect to PostgreSQL at {redact_url(dsn)}: {error!r}; check that the server "
        "runs, that host, port, database and user are right, and that it accepts connections"
    )


def check_dsn(dsn: object) -> str:
    """`dsn` if it is a PostgreSQL URL, else `ConfigurationError`."""
    if not isinstance(dsn, str) or not dsn.lower().startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(
            f"expected a PostgreSQL URL like postgresql://user@host:5432/db, got {dsn!r}"
        )
    return dsn


async def open_connection(
    dsn: str, *, timeout: float = DEFAULT_CONNECT_TIMEOUT, **options: Any
) -> asyncpg.Connection:
    """One connection to `dsn`, or `StoreUnavailableError`."""
    check_dsn(dsn)
    try:
        return await asyncpg.connect(dsn, timeout=timeout, **options)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise _unavailable(dsn, error) from error


class QuietReset:
    """A pool ``reset`` that sends nothing after the kit's own statements.

    asyncpg's default reset sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL;
    UNLISTEN *; RESET ALL`` on every release: a second round trip for every
    one-statement use of the pool. The kit's own statements leave no session
    state behind (it takes no session-level advisory locks, it opens no
    cursor, sets nothing, and its listener UNLISTENs before it releases), and
    asyncpg itself still rolls back a transaction left open and drops listener
    callbacks on release. So connections the kit `mark`s after acquiring them
    come back without the query; every other release (a connection lent to
    user code: `checkpoint_transaction`, ``store.pool.acquire()``) still runs
    the full reset.
    """

    def __init__(self) -> None:
        # Server pids of the kit's connections in use. A marked connection
        # that dies before its release leaves its pid behind: a later backend
        # with the same pid would skip one reset, a risk far below a lost
        # connection's own.
        self._quiet: set[int] = set()

    def mark(self, connection: Any) -> None:
        """Skip the reset query when `connection` (acquired by the kit) is released."""
        self._quiet.add(connection.get_server_pid())

    async def __call__(self, connection: asyncpg.Connection) -> None:
        pid = connection.get_server_pid()
        if pid in self._quiet:
            self._quiet.discard(pid)
            return
        query = connection.get_reset_query()
        if query:
            await connection.execute(query)


def server_settings(statement_timeout: float | None) -> dict[str, str] | None:
    """The session settings of every connection the store opens."""
    if statement_timeout is None:
        return None
    return {"statement_timeout": str(max(1, round(statement_timeout * 1000)))}


async def create_pool(
    dsn: str,
    *,
    min_size: int,
    max_size: int,
    timeout: float = DEFAULT_CONNECT_TIMEOUT,
    statement_timeout: float | None = None,
    reset: QuietReset | None = None,
) -> asyncpg.Pool:
    """A pool on `dsn` with its first connections open, or `StoreUnavailableError`."""
    check_dsn(dsn)
    try:
        pool = await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            server_settings=server_settings(statement_timeout),
            reset=reset,
        )
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        raise _unavailable(dsn, error) from error
    assert pool is not None
    return pool

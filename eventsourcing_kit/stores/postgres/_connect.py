"""Opening connections and pools, with one clear error when the server is away."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

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


_EXAMPLE = "postgresql://user@host:5432/db (an IPv6 host in brackets: user@[::1]:5432)"

# What the server answers to a setting of the URL's query it does not take
# (unknown name, bad value, not settable at connection time): a mistake in
# the URL, not a server that is away.
_BAD_SETTING = (
    asyncpg.exceptions.UndefinedObjectError,  # 42704: unrecognized configuration parameter
    asyncpg.exceptions.InvalidParameterValueError,  # 22023
    asyncpg.exceptions.CantChangeRuntimeParamError,  # 55P02
)


def _unavailable(dsn: str, error: BaseException) -> StoreUnavailableError:
    return StoreUnavailableError(
        f"cannot connect to PostgreSQL at {redact_url(dsn)}: {error!r}; check that the server "
        "runs, that host, port, database and user are right, and that it accepts connections"
    )


def _connect_error(dsn: str, error: BaseException) -> ConfigurationError | StoreUnavailableError:
    # asyncpg reports a URL it cannot use with ValueError (ClientConfigurationError
    # is one), a port out of range with the socket's OverflowError, and an
    # unknown ?option through the server, which takes it for a setting.
    if isinstance(error, _BAD_SETTING):
        return ConfigurationError(
            f"unknown or invalid option in the query of {redact_url(dsn)} (the server says: "
            f"{error}); the query takes asyncpg's connection options (sslmode, ...) and "
            "server settings (application_name, ...): correct or remove it"
        )
    if isinstance(error, ValueError | OverflowError) and not isinstance(error, OSError):
        return ConfigurationError(
            f"cannot use the PostgreSQL URL {redact_url(dsn)}: {error}; write it like {_EXAMPLE}"
        )
    return _unavailable(dsn, error)


def check_dsn(dsn: object) -> str:
    """`dsn` if it is a PostgreSQL URL, else `ConfigurationError`.

    Its form is checked here (brackets, ports), before any connection, so that
    a typo is reported as one rather than as a driver's ValueError.
    """
    if not isinstance(dsn, str) or not dsn.lower().startswith(("postgresql://", "postgres://")):
        raise ConfigurationError(f"expected a PostgreSQL URL like {_EXAMPLE}, got {dsn!r}")
    try:
        netloc = urlsplit(dsn).netloc
    except ValueError as error:
        raise ConfigurationError(
            f"cannot read the PostgreSQL URL {redact_url(dsn)}: {error} (a '[' or ']' without "
            f"its pair); write it like {_EXAMPLE}"
        ) from None
    # Several hosts may be listed (host1:5432,host2:5433), as asyncpg allows.
    for host in netloc.rpartition("@")[2].split(","):
        port = _port_of(host)
        if port is None:
            raise ConfigurationError(
                f"cannot read host {host!r} of the PostgreSQL URL {redact_url(dsn)}; write it "
                f"like {_EXAMPLE}"
            )
        if port and not (port.isascii() and port.isdigit() and 1 <= int(port) <= 65535):
            raise ConfigurationError(
                f"invalid port {port!r} in the PostgreSQL URL {redact_url(dsn)}: give a number "
                "from 1 to 65535 (5432 by default)"
            )
    return dsn


def _port_of(host: str) -> str | None:
    # The port written after a host ("" when none); None when the host itself
    # cannot be read (text after an IPv6 address's closing bracket).
    if host.startswith("["):
        rest = host.partition("]")[2]
        if rest and not rest.startswith(":"):
            return None
        return rest[1:]
    return host.partition(":")[2]


# What asyncpg raises when it cannot connect: an unreachable or refusing
# server, a malformed DSN (ValueError, OverflowError for a port out of range).
_CONNECT_ERRORS = (
    OSError,
    TimeoutError,
    OverflowError,
    ValueError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


async def open_connection(
    dsn: str, *, timeout: float = DEFAULT_CONNECT_TIMEOUT, **options: Any
) -> asyncpg.Connection:
    """One connection to `dsn`, or `StoreUnavailableError`."""
    check_dsn(dsn)
    try:
        return await asyncpg.connect(dsn, timeout=timeout, **options)
    except _CONNECT_ERRORS as error:
        raise _connect_error(dsn, error) from error


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
    except _CONNECT_ERRORS as error:
        raise _connect_error(dsn, error) from error
    assert pool is not None
    return pool

"""`connect(url)`: open an event store by URL, awaited or as a context manager."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, Literal, TypedDict, Unpack

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores._store import EventStore

__all__ = ["ConnectOptions", "connect"]

_SCHEMES = (
    "memory://, sqlite:///path.db, postgresql://user@host:port/db, "
    "dynamodb://table?endpoint_url=...&region=..."
)


class ConnectOptions(TypedDict, total=False):
    """The keyword options of `connect`: each backend takes its own.

    Typed, so that a type checker catches a misspelt or misplaced option; at
    run time an option the URL's backend does not take raises
    `ConfigurationError` naming those it does. What each means:
    `SQLiteEventStore.open`, `PostgresEventStore.open` and
    `DynamoDBEventStore.open`.
    """

    # sqlite:///path.db
    busy_timeout: float
    synchronous: str
    # postgresql://
    schema: str | None
    min_size: int
    max_size: int
    statement_timeout: float | None
    connect_timeout: float
    migrate: bool
    notify: Literal["coalesced", "after_commit", "in_transaction", "off"]
    visibility_wait: float
    notify_delay: float
    group_commit: bool
    # dynamodb://
    indexer: bool
    lease_ttl: float
    poll_interval: float
    standby_poll: float
    shard_read_interval: float
    index_wait: float
    retry_attempts: int
    pool_size: int
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    aws_session_token: str | None
    profile_name: str | None
    session: Any  # an aioboto3.Session


class _Connection:
    """What `connect()` returns: await it for a store, or use it with `async with`."""

    def __init__(self, url: str, options: ConnectOptions) -> None:
        self._url = url
        self._options = options
        self._store: EventStore | None = None

    def __await__(self) -> Generator[Any, None, EventStore]:
        return _open(self._url, self._options).__await__()

    async def __aenter__(self) -> EventStore:
        self._store = await _open(self._url, self._options)
        return self._store

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None


def connect(url: str, **options: Unpack[ConnectOptions]) -> _Connection:
    """Open the event store that `url` names.

    ``memory://`` (this process only), ``sqlite:///relative.db`` or
    ``sqlite:////absolute/path.db`` (the embedded default), and
    ``postgresql://user@host:5432/db`` (needs the ``postgres`` extra), and
    ``dynamodb://table?endpoint_url=...&region=...`` (needs the ``dynamodb``
    extra; endpoint and region default to the AWS configuration).
    Keyword options go to the backend (see its class). Use it as
    ``store = await connect(url)`` (then ``await store.close()``) or as
    ``async with connect(url) as store: ...``.
    """
    if not isinstance(url, str):
        raise ConfigurationError(f"connect() takes a URL string, got {type(url).__name__}")
    return _Connection(url, options)


async def _open(url: str, options: ConnectOptions) -> EventStore:
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if not rest and scheme != "memory":
        raise ConfigurationError(f"cannot read store URL {url!r}; use one of: {_SCHEMES}")
    if scheme == "memory":
        from eventsourcing_kit.stores.memory import MemoryEventStore

        if options:
            raise ConfigurationError(f"memory:// takes no options, got {sorted(options)}")
        return MemoryEventStore()
    if scheme == "sqlite":
        from eventsourcing_kit.stores.sqlite import SQLiteEventStore, path_from_url

        path = path_from_url(url)
        return await SQLiteEventStore.open(
            path, **_checked_options(SQLiteEventStore.open, options, "sqlite://")
        )
    if scheme in ("postgresql", "postgres"):
        try:
            from eventsourcing_kit.stores.postgres import PostgresEventStore
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "postgresql:// needs asyncpg: pip install 'eventsourcing-kit[postgres]'"
            ) from error
        return await PostgresEventStore.open(
            url, **_checked_options(PostgresEventStore.open, options, "postgresql://")
        )
    if scheme == "dynamodb":
        from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore

        return await DynamoDBEventStore.open(
            url, **_checked_options(DynamoDBEventStore.open, options, "dynamodb://")
        )
    raise ConfigurationError(f"unknown store URL scheme {scheme!r} in {url!r}; use {_SCHEMES}")


def _checked_options(
    opener: Callable[..., object], options: ConnectOptions, scheme: str
) -> dict[str, Any]:
    # A misspelt option should say which ones exist, not raise a bare TypeError
    # (code that is not type-checked, or options of another backend).
    accepted = {
        name
        for name, parameter in inspect.signature(opener).parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {unknown} for {scheme}; it takes: {', '.join(sorted(accepted))}"
        )
    return dict(options)

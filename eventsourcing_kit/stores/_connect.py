"""`connect(url)`: open an event store by URL, awaited or as a context manager."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores._store import EventStore

__all__ = ["connect"]

_SCHEMES = (
    "memory://, sqlite:///path.db, postgresql://user@host:port/db, "
    "dynamodb://table?endpoint_url=...&region=..."
)


class _Connection:
    """What `connect()` returns: await it for a store, or use it with `async with`."""

    def __init__(self, url: str, options: dict[str, Any]) -> None:
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


def connect(url: str, **options: Any) -> _Connection:
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


async def _open(url: str, options: dict[str, Any]) -> EventStore:
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
        _check_options(SQLiteEventStore.open, options, "sqlite://")
        return await SQLiteEventStore.open(path, **options)
    if scheme in ("postgresql", "postgres"):
        try:
            from eventsourcing_kit.stores.postgres import PostgresEventStore
        except ImportError as error:  # pragma: no cover - depends on the install
            raise ConfigurationError(
                "postgresql:// needs asyncpg: pip install 'eventsourcing-kit[postgres]'"
            ) from error
        _check_options(PostgresEventStore.open, options, "postgresql://")
        return await PostgresEventStore.open(url, **options)
    if scheme == "dynamodb":
        from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore

        _check_options(DynamoDBEventStore.open, options, "dynamodb://")
        return await DynamoDBEventStore.open(url, **options)
    raise ConfigurationError(f"unknown store URL scheme {scheme!r} in {url!r}; use {_SCHEMES}")


def _check_options(opener: Callable[..., object], options: dict[str, Any], scheme: str) -> None:
    # A misspelt option should say which ones exist, not raise a bare TypeError.
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

"""`SQLiteEventStore`: the core `EventStore` on the SQLite driver (``sqlite:///path.db``)."""

from __future__ import annotations

import functools
import os
import sqlite3

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.driver import EventStore, sql_files
from eventsourcing_kit.stores.sqlite._driver import SQLiteDriver
from eventsourcing_kit.stores.sqlite._errors import translate_error
from eventsourcing_kit.stores.sqlite._setup import MIN_SQLITE_VERSION, migrate, open_connection
from eventsourcing_kit.stores.sqlite._worker import Worker

__all__ = ["SQLiteEventStore"]

logger = get_logger(__name__)

_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")


class SQLiteEventStore(EventStore):
    """An event store in one SQLite file, safe for many tasks and processes.

    Open it with ``connect("sqlite:///path.db")`` or `SQLiteEventStore.open`.
    Inside `checkpoint_transaction`, `CheckpointTransaction.connection` is the
    store's ``sqlite3.Connection`` in an open ``BEGIN IMMEDIATE`` transaction
    (write through it synchronously; do not commit); other writers of the
    file wait until the block ends, so keep it short.
    """

    _driver: SQLiteDriver

    def __init__(self, driver: SQLiteDriver) -> None:
        """Prefer `open`, which also opens the connections and migrates the file."""
        super().__init__(driver)

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
    ) -> SQLiteEventStore:
        """Open (creating it if needed) the store file at `path` and bring its schema up to date.

        `busy_timeout`: seconds an operation waits while another process holds
        the file's write lock before failing with `TransientStoreError`.
        `synchronous`: SQLite's setting, ``"NORMAL"`` (default: a commit survives
        a crash of the process, not necessarily of the OS) or ``"FULL"`` (it
        survives a power loss too, at a cost in append latency).
        """
        path = _check_path(path)
        busy_timeout = _check_busy_timeout(busy_timeout)
        mode = _check_synchronous(synchronous)
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise ConfigurationError(
                f"the SQLite library is version {sqlite3.sqlite_version}; the store needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or later"
            )
        files = sql_files("sqlite")
        writer = Worker("eventsourcing-kit-sqlite-writer")
        reader = Worker("eventsourcing-kit-sqlite-reader")
        opener = functools.partial(
            open_connection, path, busy_timeout=busy_timeout, synchronous=mode
        )
        try:
            await writer.start(functools.partial(opener, readonly=False))
            applied = await writer.run(migrate, files)
            await reader.start(functools.partial(opener, readonly=True))
        except BaseException as error:
            await reader.stop()
            await writer.stop()
            if isinstance(error, sqlite3.Error):
                raise translate_error(error, path=path, busy_timeout=busy_timeout) from error
            raise
        logger.debug("sqlite store opened", path=path, migrations_applied=applied)
        return cls(SQLiteDriver(path, writer=writer, reader=reader, busy_timeout=busy_timeout))

    def __repr__(self) -> str:
        return f"<SQLiteEventStore {self.path!r}{' closed' if self._closed else ''}>"

    @property
    def path(self) -> str:
        """The store's file."""
        return self._driver.path


def _check_path(path: object) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"invalid SQLite store path {path!r}: pass the path of a file (it is created if "
            "missing); for a store in memory use connect('memory://')"
        )
    return path


def _check_busy_timeout(busy_timeout: object) -> float:
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, int | float)
        or not busy_timeout >= 0
    ):
        raise ConfigurationError(
            f"invalid busy_timeout {busy_timeout!r}: pass the seconds to wait for a lock "
            "held by another process, e.g. 5.0"
        )
    return float(busy_timeout)


def _check_synchronous(synchronous: object) -> str:
    mode = synchronous.upper() if isinstance(synchronous, str) else synchronous
    if mode not in _SYNCHRONOUS:
        raise ConfigurationError(
            f"invalid synchronous {synchronous!r}: pass one of {', '.join(_SYNCHRONOUS)}"
        )
    return str(mode)

"""`migrate(path)`: bring a SQLite store file's schema up to date without opening a store.

Opening a store applies pending migrations too; this is the same step on
its own, for ``eventsourcing-kit migrate --url sqlite:///path.db`` and for
deployment scripts. The work is ``_setup.migrate``, on a thread of its own.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.driver import sql_files
from eventsourcing_kit.stores.sqlite._errors import translate_error
from eventsourcing_kit.stores.sqlite._setup import MIN_SQLITE_VERSION, open_connection
from eventsourcing_kit.stores.sqlite._setup import migrate as apply_pending

__all__ = ["migrate"]


async def migrate(path: str | os.PathLike[str], *, busy_timeout: float = 5.0) -> list[str]:
    """Apply the pending ``store/sqlite/*.sql`` files to the file at `path`.

    Creates the file if it is missing; returns the names of the files
    applied now (none when it is up to date). `busy_timeout`: seconds to
    wait while another process holds the file's write lock. Raises
    `MigrationError` when a file applied earlier has changed since.
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"invalid SQLite store path {path!r}: pass the path of a file (it is created if "
            "missing)"
        )
    if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
        raise ConfigurationError(
            f"the SQLite library is version {sqlite3.sqlite_version}; the store needs "
            f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or later"
        )
    return await asyncio.to_thread(_migrate_file, path, busy_timeout)


def _migrate_file(path: str, busy_timeout: float) -> list[str]:
    try:
        connection = open_connection(
            path, busy_timeout=busy_timeout, synchronous="NORMAL", readonly=False
        )
        try:
            return apply_pending(connection, sql_files("sqlite"))
        finally:
            connection.close()
    except sqlite3.Error as error:
        raise translate_error(error, path=path, busy_timeout=busy_timeout) from error

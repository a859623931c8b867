"""Turn sqlite3 exceptions into the kit's errors, with what to do about them."""

from __future__ import annotations

import sqlite3

from eventsourcing_kit.errors import StoreError, StoreUnavailableError, TransientStoreError

__all__ = ["translate_error"]


def translate_error(error: sqlite3.Error, *, path: str, busy_timeout: float) -> StoreError:
    """The kit's error for a sqlite3 failure on the file at `path`.

    Integrity errors of the events table never get here: the append maps them
    to `ConcurrencyError` or the retry rule itself.
    """
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return TransientStoreError(
            f"the SQLite file {path!r} stayed locked by another connection or process for "
            f"more than busy_timeout={busy_timeout}s ({error}); try again, or open the store "
            "with a larger busy_timeout if long writers are expected"
        )
    if name.startswith("SQLITE_CANTOPEN"):
        return StoreUnavailableError(
            f"cannot open the SQLite file {path!r} ({error}): the path must name a file (not a "
            "directory) in an existing directory this process can write to"
        )
    if name.startswith("SQLITE_NOTADB"):
        return StoreUnavailableError(
            f"{path!r} is not a SQLite database ({error}): point the store at a new path or at "
            "a file it created"
        )
    if name.startswith("SQLITE_READONLY"):
        return StoreUnavailableError(
            f"the SQLite file {path!r} is read-only ({error}): the store needs write access to "
            "the file and its directory (for the -wal and -shm files)"
        )
    if name.startswith(("SQLITE_IOERR", "SQLITE_FULL", "SQLITE_CORRUPT", "SQLITE_PERM")):
        return StoreUnavailableError(
            f"the SQLite file {path!r} cannot be read or written ({error}): check the disk "
            "(space, permissions, health) and restore the file from a backup if it is corrupt"
        )
    return StoreError(f"SQLite failed on {path!r}: {error} ({name or type(error).__name__})")

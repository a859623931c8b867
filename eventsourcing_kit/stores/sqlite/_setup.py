"""Opening a SQLite store file: connection settings and schema migrations.

Everything here runs on the store's worker threads, never on the event loop.
The DDL itself lives in ``store/sqlite/*.sql``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

from eventsourcing_kit.errors import ConfigurationError, MigrationError, StoreUnavailableError
from eventsourcing_kit.stores.driver import (
    Migration,
    migrations_of,
    partition_of,
    pending_migrations,
)

__all__ = [
    "MIN_SQLITE_VERSION",
    "migrate",
    "open_connection",
    "path_from_url",
    "split_statements",
]

# ON CONFLICT ... DO UPDATE (the snapshot and checkpoint upserts) needs 3.24.
MIN_SQLITE_VERSION = (3, 24, 0)


def path_from_url(url: str) -> str:
    """The file a ``sqlite:///`` URL names: ``sqlite:///x.db`` is the relative
    path x.db, ``sqlite:////x.db`` the absolute /x.db."""
    scheme, _, _ = url.partition("://")
    path = unquote(urlsplit(url).path) if scheme.lower() == "sqlite" else ""
    if path.startswith("/"):
        path = path[1:]
    if not path:
        raise ConfigurationError(
            f"store URL {url!r} names no file: use sqlite:///relative.db or "
            "sqlite:////absolute/path.db"
        )
    return path


def open_connection(
    path: str, *, busy_timeout: float, synchronous: str, readonly: bool
) -> sqlite3.Connection:
    """A connection to `path` set up for the store.

    `isolation_level=None` leaves transactions to us (BEGIN IMMEDIATE for
    writes); `check_same_thread=False` because the writer connection is also
    lent to handlers on the event loop thread inside a checkpoint transaction,
    under the store's write lock; the handler's store calls meanwhile run on the
    writer thread, so it must not use the connection while a task it started
    has one in flight (docs/sqlite.md).
    `timeout` is SQLite's busy timeout: a connection that finds the file
    locked by another process waits up to that long instead of failing.
    """
    connection = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        # The partition rule, for reads filtered by partition (`ops.select_events`):
        # the store's own function, so SQL and Python cannot disagree.
        connection.create_function("stream_partition", 2, partition_of, deterministic=True)
        if readonly:
            # The reader connection must never take the write lock by mistake.
            connection.execute("PRAGMA query_only = ON")
        else:
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreUnavailableError(
                    f"the SQLite file {path!r} cannot use WAL mode (journal_mode stays "
                    f"{mode!r}); put it on a local file system that supports shared memory"
                )
        # In WAL mode, synchronous=NORMAL syncs the WAL only at checkpoints, not at
        # every commit. That is safe: a commit is still atomic and the file never
        # corrupts; a crash of this process loses nothing (the WAL is in the OS
        # cache); only a power loss or OS crash can drop the last few commits.
        # Pass synchronous="FULL" to trade append latency for that durability too.
        # PRAGMA takes no bound parameters; `synchronous` is checked against a fixed
        # list of names before it gets here.
        connection.execute(f"PRAGMA synchronous = {synchronous}")
    except BaseException:
        connection.close()
        raise
    return connection


def split_statements(script: str) -> list[str]:
    """The SQL statements of a script, one per item (triggers kept whole).

    sqlite3's executescript() would commit the migration transaction first
    (Python 3.11), so statements are run one by one with execute().
    """
    statements: list[str] = []
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer)
            buffer = ""
    if buffer.strip(" \n\t;"):
        statements.append(buffer)  # incomplete: let SQLite name the syntax error
    return statements


def _applied(connection: sqlite3.Connection) -> dict[str, str | None]:
    """Each recorded file with its checksum (None: recorded before 005 added checksums)."""
    if not _has_table(connection):
        return {}
    if not _has_checksums(connection):
        names = connection.execute("SELECT name FROM schema_migrations")
        return {name: None for (name,) in names}
    return dict(connection.execute("SELECT name, checksum FROM schema_migrations"))


def _has_table(connection: sqlite3.Connection) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    return found is not None


def _has_checksums(connection: sqlite3.Connection) -> bool:
    columns = connection.execute("PRAGMA table_info(schema_migrations)").fetchall()
    return any(column[1] == "checksum" for column in columns)


def _target(connection: sqlite3.Connection) -> str:
    # The file's path as SQLite opened it (PRAGMA database_list: seq, name, file).
    for _, name, file in connection.execute("PRAGMA database_list"):
        if name == "main":
            return f"SQLite file {file!r}"
    return "the SQLite file"  # pragma: no cover - "main" is always listed


def migrate(connection: sqlite3.Connection, files: Sequence[tuple[str, str]]) -> list[str]:
    """Apply the files not applied yet, in order; return their names.

    `files` are ``store/sqlite/*.sql`` as (name, text). What to apply, and
    what is an error (a file changed after it was applied), is decided by
    ``stores/_migrations.py``, shared with PostgreSQL. All of them are
    applied in one write transaction, with the record of each: two processes
    opening a new file at once apply them exactly once (the second waits for
    the lock, then finds them applied).
    """
    migrations = migrations_of("sqlite", files)
    target = _target(connection)
    # Checked without the write lock first: opening an up-to-date file, the
    # usual case, never waits for another process's writes.
    if not pending_migrations(migrations, _applied(connection), target=target):
        return []
    connection.execute("BEGIN IMMEDIATE")
    try:
        done: list[str] = []
        now = datetime.now(UTC).isoformat(timespec="microseconds")
        for migration in pending_migrations(migrations, _applied(connection), target=target):
            try:
                for statement in split_statements(migration.sql):
                    connection.execute(statement)
            except sqlite3.OperationalError as error:
                if getattr(error, "sqlite_errorname", "").startswith("SQLITE_BUSY"):
                    raise
                raise MigrationError(
                    f"applying {migration.path} to {target} failed: {error}; the file was "
                    "left unchanged (the migration is rolled back)"
                ) from error
            _record(connection, migration, now)
            done.append(migration.name)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return done


def _record(connection: sqlite3.Connection, migration: Migration, now: str) -> None:
    # Files up to 004 ran before the record had a checksum column (005 adds it).
    if _has_checksums(connection):
        connection.execute(
            "INSERT INTO schema_migrations (name, applied_at, checksum) VALUES (?, ?, ?)",
            (migration.name, now, migration.checksum),
        )
    else:
        connection.execute(
            "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
            (migration.name, now),
        )

"""`migrate()`: apply the pending ``store/postgres/*.sql`` files to one schema.

What to apply, in what order, and what is an error (a file changed after it
was applied) is decided by ``stores/_migrations.py``, shared with SQLite;
this module does PostgreSQL's part. Each file names its objects unqualified
and runs with ``search_path`` set to exactly the target schema (bound as a
parameter and quoted by the server's ``quote_ident``), so the same reviewed
files install the kit into any schema. All pending files run in ONE
transaction that first takes an advisory lock keyed by the schema name: two
processes migrating at once queue on the lock, and the second finds every
file applied and does nothing. PostgreSQL DDL is transactional, so a failing
file leaves the schema as it was.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConfigurationError, MigrationError
from eventsourcing_kit.stores.driver import load_migrations, pending_migrations
from eventsourcing_kit.stores.postgres._errors import translate_error

__all__ = ["DEFAULT_SCHEMA", "MIN_SERVER_VERSION", "migrate", "validate_schema_name"]

logger = get_logger(__name__)

DEFAULT_SCHEMA = "eventsourcing"
MIN_SERVER_VERSION = 130000
"""pg_current_xact_id() and the xid8 type, which order the events, came in 13."""

_MAX_IDENTIFIER_BYTES = 63


def validate_schema_name(schema: object) -> str:
    """A schema name is a PostgreSQL identifier: 1 to 63 bytes, not ``pg_*``."""
    if (
        not isinstance(schema, str)
        or not schema
        or len(schema.encode()) > _MAX_IDENTIFIER_BYTES
        or not schema.isprintable()
        or schema.lower().startswith("pg_")
    ):
        raise ConfigurationError(
            f"invalid schema name {schema!r}: use a printable name of 1 to "
            f"{_MAX_IDENTIFIER_BYTES} bytes that does not start with 'pg_' "
            f"(the default is {DEFAULT_SCHEMA!r})"
        )
    return schema


async def migrate(
    target: str | asyncpg.Pool | asyncpg.Connection,
    *,
    schema: str = DEFAULT_SCHEMA,
) -> list[str]:
    """Bring `schema` up to date; return the names of the files applied now.

    `target` is a DSN (``postgresql://user@host:5432/db``), an asyncpg pool
    or a connection (neither is closed). Running it again applies nothing;
    concurrent runs are serialized by an advisory lock.
    """
    validate_schema_name(schema)
    if isinstance(target, str):
        from eventsourcing_kit.stores.postgres._connect import open_connection

        connection = await open_connection(target)
        try:
            return await _migrate_on(connection, schema)
        finally:
            await connection.close()
    if isinstance(target, asyncpg.Pool):
        async with target.acquire() as pooled:
            return await _migrate_on(pooled, schema)
    if isinstance(target, asyncpg.Connection):
        return await _migrate_on(target, schema)
    raise ConfigurationError(
        f"migrate() takes a DSN, an asyncpg.Pool or an asyncpg.Connection, got "
        f"{type(target).__name__}"
    )


async def _migrate_on(connection: Any, schema: str) -> list[str]:
    log = logger.bind(schema=schema)
    version = connection.get_server_version()
    if (version.major * 10000) < MIN_SERVER_VERSION:
        raise MigrationError(
            f"PostgreSQL {version.major}.{version.minor} is too old for eventsourcing-kit: "
            "it orders events by pg_current_xact_id(), which needs PostgreSQL 13 or later"
        )
    migrations = load_migrations("postgres")
    applied_now: list[str] = []
    running = "reading its applied migrations"
    try:
        async with connection.transaction():
            await connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                f"eventsourcing_kit.migrate:{schema}",
            )
            await connection.execute(
                "SELECT set_config('search_path', quote_ident($1), true)", schema
            )
            applied = await _applied(connection, schema)
            target = f"schema {schema!r}"
            for migration in pending_migrations(migrations, applied, target=target):
                running = f"applying {migration.path}"
                await connection.execute(migration.sql)
                await connection.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
                applied_now.append(migration.name)
    except (asyncpg.PostgresError, OSError) as error:
        if isinstance(error, asyncpg.PostgresError) and not _is_connection_error(error):
            raise MigrationError(
                f"migrating schema {schema!r} failed while {running}; nothing was changed: {error}"
            ) from error
        raise translate_error(error, schema=schema) from error
    if applied_now:
        log.info("migrated", applied=applied_now)
    return applied_now


async def _applied(connection: Any, schema: str) -> dict[str, str | None]:
    exists = await connection.fetchval(
        "SELECT to_regclass(quote_ident($1) || '.schema_migrations') IS NOT NULL", schema
    )
    if not exists:
        return {}
    rows = await connection.fetch("SELECT name, checksum FROM schema_migrations")
    return {row["name"]: row["checksum"] for row in rows}


def _is_connection_error(error: asyncpg.PostgresError) -> bool:
    sqlstate = getattr(error, "sqlstate", "") or ""
    return sqlstate.startswith("08")

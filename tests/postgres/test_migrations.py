"""Migrations: idempotent, safe when run concurrently, in any schema, never edited."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sysconfig
from collections.abc import AsyncIterator

import asyncpg
import pytest
from migration_support import checksum_of_an_edit
from postgres_support import drop_schema, new_schema_name

from eventsourcing_kit.cli import main
from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores.driver import sql_files
from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate, quote_identifier

ALL_FILES = [name for name, _ in sql_files("postgres")]
# The installed console script, as users run it.
CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"


@pytest.fixture
async def schema(pg_dsn: str) -> AsyncIterator[str]:
    name = new_schema_name()
    yield name
    await drop_schema(pg_dsn, name)


async def execute(dsn: str, statement: str, *args: object) -> None:
    """Run one statement on a connection of its own, as a DBA would."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def edit_after_release(dsn: str, schema: str, name: str) -> None:
    """Make the shipped store/postgres/<name> look edited since `schema` applied it."""
    await execute(
        dsn,
        f"UPDATE {quote_identifier(schema)}.schema_migrations SET checksum = $1 WHERE name = $2",
        checksum_of_an_edit("postgres", name),
        name,
    )


async def test_first_migration_applies_every_file(pg_dsn: str, schema: str) -> None:
    assert await migrate(pg_dsn, schema=schema) == ALL_FILES


async def test_second_migration_applies_nothing(pg_dsn: str, schema: str) -> None:
    await migrate(pg_dsn, schema=schema)
    assert await migrate(pg_dsn, schema=schema) == []


async def test_concurrent_migrations_apply_each_file_once(pg_dsn: str, schema: str) -> None:
    runs = await asyncio.gather(*(migrate(pg_dsn, schema=schema) for _ in range(4)))
    assert sorted(runs, key=len) == [[], [], [], ALL_FILES]


async def test_a_schema_name_needing_quotes_works(pg_dsn: str) -> None:
    schema = new_schema_name() + ' "odd"; name'
    try:
        assert await migrate(pg_dsn, schema=schema) == ALL_FILES
    finally:
        await drop_schema(pg_dsn, schema)


async def test_migrate_accepts_a_pool_and_leaves_it_open(pg_dsn: str, schema: str) -> None:
    async with asyncpg.create_pool(pg_dsn, min_size=1, max_size=2) as pool:
        await migrate(pool, schema=schema)
        assert await pool.fetchval("SELECT 1") == 1


async def test_a_file_changed_after_it_was_applied_fails_migrate(pg_dsn: str, schema: str) -> None:
    await migrate(pg_dsn, schema=schema)
    await edit_after_release(pg_dsn, schema, "0007_append_functions.sql")
    with pytest.raises(MigrationError) as raised:
        await migrate(pg_dsn, schema=schema)
    message = str(raised.value)
    assert "store/postgres/0007_append_functions.sql changed after it was applied" in message
    assert f"to schema {schema!r}" in message
    assert "put the change in a new file" in message


async def test_a_file_changed_after_it_was_applied_fails_opening_the_store(
    pg_dsn: str, schema: str
) -> None:
    await migrate(pg_dsn, schema=schema)
    await edit_after_release(pg_dsn, schema, "0002_events.sql")
    with pytest.raises(MigrationError, match=r"0002_events\.sql changed after it was applied"):
        await PostgresEventStore.open(pg_dsn, schema=schema)


async def test_a_failing_file_is_named_and_changes_nothing(pg_dsn: str, schema: str) -> None:
    # A table of the application's own named `events` is in the way: 0002
    # keeps it (CREATE TABLE IF NOT EXISTS), then misses the columns it
    # goes on to describe.
    s = quote_identifier(schema)
    await execute(pg_dsn, f"CREATE SCHEMA {s}; CREATE TABLE {s}.events (id int)")
    with pytest.raises(MigrationError, match=r"while applying store/postgres/0002_events\.sql"):
        await migrate(pg_dsn, schema=schema)
    connection = await asyncpg.connect(pg_dsn)
    try:
        tables = await connection.fetch(
            "SELECT c.relname, a.attname FROM pg_class c "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 "
            "WHERE c.relnamespace = to_regnamespace(quote_ident($1)) ORDER BY 1, 2",
            schema,
        )
    finally:
        await connection.close()
    assert [tuple(row) for row in tables] == [("events", "id")]


def test_the_command_line_migrates_a_schema(pg_dsn: str, schema: str) -> None:
    command = [CLI, "migrate", "--url", f"{pg_dsn}?schema={schema}"]
    first = subprocess.run(command, capture_output=True, text=True, check=False)
    again = subprocess.run(command, capture_output=True, text=True, check=False)
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert first.stdout == f"schema {schema!r}: applied {', '.join(ALL_FILES)}\n"
    assert again.stdout == f"schema {schema!r}: up to date\n"


def test_cli_migrate_applies_pending_files(
    pg_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--url", pg_dsn, "--schema", schema]) == 0
    assert "0007_append_functions.sql" in capsys.readouterr().out


def test_cli_migrate_reports_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--url", "postgresql://postgres@127.0.0.1:1/test"]) == 1
    assert "cannot connect to PostgreSQL" in capsys.readouterr().err

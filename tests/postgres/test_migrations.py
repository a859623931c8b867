"""Migrations: idempotent, safe when run concurrently, in any schema, never edited."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from migration_support import edit_after_release, use_store_copy
from postgres_support import drop_schema, new_schema_name

from eventsourcing_kit.cli import main
from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores._ddl import sql_files
from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate

ALL_FILES = [name for name, _ in sql_files("postgres")]
# The installed console script, as users run it.
CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"


@pytest.fixture
async def schema(pg_dsn: str) -> AsyncIterator[str]:
    name = new_schema_name()
    yield name
    await drop_schema(pg_dsn, name)


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


async def test_a_file_changed_after_it_was_applied_fails_migrate(
    pg_dsn: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(pg_dsn, schema=schema)
    edit_after_release("postgres", "0007_append_functions.sql", tmp_path, monkeypatch)
    with pytest.raises(MigrationError) as raised:
        await migrate(pg_dsn, schema=schema)
    message = str(raised.value)
    assert "store/postgres/0007_append_functions.sql changed after it was applied" in message
    assert f"to schema {schema!r}" in message
    assert "put the change in a new file" in message


async def test_a_file_changed_after_it_was_applied_fails_opening_the_store(
    pg_dsn: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await migrate(pg_dsn, schema=schema)
    edit_after_release("postgres", "0002_events.sql", tmp_path, monkeypatch)
    with pytest.raises(MigrationError, match=r"0002_events\.sql changed after it was applied"):
        await PostgresEventStore.open(pg_dsn, schema=schema)


async def test_a_failing_file_is_named_and_changes_nothing(
    pg_dsn: str, schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = use_store_copy(tmp_path, monkeypatch) / "postgres" / "9999_broken.sql"
    broken.write_text("ALTER TABLE no_such_table ADD COLUMN x int;\n", encoding="utf-8")
    with pytest.raises(MigrationError, match=r"while applying store/postgres/9999_broken\.sql"):
        await migrate(pg_dsn, schema=schema)
    connection = await asyncpg.connect(pg_dsn)
    try:
        assert await connection.fetchval("SELECT to_regnamespace($1)", schema) is None
    finally:
        await connection.close()


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

"""Migrations: idempotent, safe when run concurrently, in any schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from postgres_support import drop_schema, new_schema_name

from eventsourcing_kit.cli import main
from eventsourcing_kit.stores._ddl import sql_files
from eventsourcing_kit.stores.postgres import migrate

ALL_FILES = [name for name, _ in sql_files("postgres")]


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


def test_cli_migrate_applies_pending_files(
    pg_dsn: str, schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--url", pg_dsn, "--schema", schema]) == 0
    assert "0007_append_functions.sql" in capsys.readouterr().out


def test_cli_migrate_reports_an_unreachable_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--url", "postgresql://postgres@127.0.0.1:1/test"]) == 1
    assert "cannot connect to PostgreSQL" in capsys.readouterr().err

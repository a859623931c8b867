"""A schema of the previous release (0001-0008) upgrades to bigint versions and 0010's functions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import asyncpg
import pytest
from migration_support import RELEASED, released_files
from postgres_support import drop_schema, new_schema_name, open_store

from eventsourcing_kit import ExpectedVersion, NewEvent
from eventsourcing_kit.stores.driver import sql_files
from eventsourcing_kit.stores.postgres import migrate, quote_identifier

NEW_FILES = [name for name, _ in sql_files("postgres") if name not in RELEASED["postgres"]]
FUNCTIONS = ("lock_stream", "append_events", "append_event", "append_group")


async def make_previous_release_schema(connection: asyncpg.Connection, schema: str) -> None:
    """Apply 0001-0008 as the previous release's runner did, then append
    through the functions that release made (integer versions)."""
    async with connection.transaction():
        await connection.execute("SELECT set_config('search_path', quote_ident($1), true)", schema)
        for name, text in released_files("postgres"):
            await connection.execute(text)
            await connection.execute(
                "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                name,
                RELEASED["postgres"][name],
            )
    s = quote_identifier(schema)
    await connection.fetch(
        f"SELECT * FROM {s}.append_event($1, 0, $2, 'Opened', '{{}}', '{{}}')", "Account-1", uuid4()
    )
    await connection.fetch(
        f"SELECT * FROM {s}.append_events($1, 1, $2, $3, $4, $5)",
        "Account-1",
        [uuid4(), uuid4()],
        ["Deposited", "Deposited"],
        ['{"amount": 1}', '{"amount": 2}'],
        ["{}", "{}"],
    )
    await connection.fetch(
        f"SELECT * FROM {s}.append_group($1, $2, $3, $4, $5, $6, $7)",
        ["Account-2"],
        [-1],
        [1],
        [uuid4()],
        ["Opened"],
        ["{}"],
        ["{}"],
    )


@pytest.fixture
async def connection(pg_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(pg_dsn)
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
async def old_schema(pg_dsn: str, connection: asyncpg.Connection) -> AsyncIterator[str]:
    """A schema as the previous release left it, with four events in two streams."""
    schema = new_schema_name()
    try:
        await make_previous_release_schema(connection, schema)
        yield schema
    finally:
        await drop_schema(pg_dsn, schema)


async def stored_events(connection: asyncpg.Connection, schema: str) -> list[dict[str, Any]]:
    rows = await connection.fetch(
        "SELECT global_position, transaction_id::text, event_id, stream_id, category, version, "
        f"event_type, data::text, metadata::text, recorded_at FROM {quote_identifier(schema)}"
        ".events ORDER BY global_position"
    )
    return [dict(row) for row in rows]


async def functions(connection: asyncpg.Connection, schema: str) -> list[tuple[str, str, str]]:
    rows = await connection.fetch(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid), "
        "pg_get_function_result(p.oid) FROM pg_proc p "
        "WHERE p.pronamespace = to_regnamespace(quote_ident($1)) AND p.proname = ANY($2) "
        "ORDER BY 1",
        schema,
        list(FUNCTIONS),
    )
    return [tuple(row) for row in rows]


async def test_migrating_applies_only_the_files_added_since(pg_dsn: str, old_schema: str) -> None:
    assert NEW_FILES == [
        "0009_bigint_versions.sql",
        "0010_append_functions.sql",
        "0011_save_checkpoint_if.sql",
        "0012_subscription_leases.sql",
        "0013_stream_partition.sql",
    ]
    assert await migrate(pg_dsn, schema=old_schema) == NEW_FILES


async def test_after_the_upgrade_versions_are_bigint_in_every_table(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    await migrate(pg_dsn, schema=old_schema)
    rows = await connection.fetch(
        "SELECT table_name, data_type FROM information_schema.columns "
        "WHERE table_schema = $1 AND column_name = 'version' ORDER BY 1",
        old_schema,
    )
    assert [tuple(row) for row in rows] == [
        ("events", "bigint"),
        ("snapshots", "bigint"),
        ("streams", "bigint"),
    ]


async def test_after_the_upgrade_each_function_has_one_signature_with_bigint_versions(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    await migrate(pg_dsn, schema=old_schema)
    table = (
        "TABLE(conflict boolean, stream_version bigint, transaction_id xid8, "
        "global_position bigint)"
    )
    assert await functions(connection, old_schema) == [
        (
            "append_event",
            "p_stream_id text, p_expected_version bigint, p_event_id uuid, p_event_type text, "
            "p_data text, p_metadata text, p_notify_channel text, OUT conflict boolean, "
            "OUT stream_version bigint, OUT transaction_id xid8, OUT global_position bigint",
            "record",
        ),
        (
            "append_events",
            "p_stream_id text, p_expected_version bigint, p_event_ids uuid[], "
            "p_event_types text[], p_data text[], p_metadata text[], p_notify_channel text",
            table,
        ),
        (
            "append_group",
            "p_stream_ids text[], p_expected bigint[], p_counts integer[], p_event_ids uuid[], "
            "p_event_types text[], p_data text[], p_metadata text[]",
            table,
        ),
        ("lock_stream", "p_stream_id text", "bigint"),
    ]


async def test_after_the_upgrade_the_functions_keep_the_schema_then_pg_temp_as_their_path(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    # 0010's plain bodies name the tables unqualified; 0007's had the schema written in.
    await migrate(pg_dsn, schema=old_schema)
    rows = await connection.fetch(
        "SELECT proconfig, prosrc LIKE '%' || $1 || '%' FROM pg_proc "
        "WHERE pronamespace = to_regnamespace(quote_ident($1)) AND proname = ANY($2)",
        old_schema,
        list(FUNCTIONS),
    )
    assert [tuple(row) for row in rows] == [([f"search_path={old_schema}, pg_temp"], False)] * 4


async def test_after_the_upgrade_the_old_events_are_unchanged(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    before = await stored_events(connection, old_schema)
    await migrate(pg_dsn, schema=old_schema)
    assert await stored_events(connection, old_schema) == before
    assert [(e["stream_id"], e["version"]) for e in before] == [
        ("Account-1", 1),
        ("Account-1", 2),
        ("Account-1", 3),
        ("Account-2", 1),
    ]


@pytest.mark.parametrize(
    "expected",
    [3, ExpectedVersion.ANY, ExpectedVersion.STREAM_EXISTS],
    ids=["exact_one_statement", "any_function", "stream_exists_function"],
)
async def test_after_the_upgrade_an_old_stream_takes_appends(
    pg_dsn: str, old_schema: str, expected: int | ExpectedVersion
) -> None:
    await migrate(pg_dsn, schema=old_schema)
    async with open_store(pg_dsn, old_schema, visibility_wait=30) as store:
        result = await store.append_events(
            "Account-1", [NewEvent("Deposited", {"amount": 3})], expected_version=expected
        )
        stream = [e async for e in store.read_stream("Account-1")]
    assert result.version == 4
    assert [(e.version, e.data) for e in stream] == [
        (1, {}),
        (2, {"amount": 1}),
        (3, {"amount": 2}),
        (4, {"amount": 3}),
    ]


async def test_after_the_upgrade_the_indexes_constraints_and_trigger_remain(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    query = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
        "UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = to_regnamespace(quote_ident($1)) "
        "UNION ALL SELECT tgname, pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger "
        "WHERE tgrelid = to_regclass(quote_ident($1) || '.events') AND NOT tgisinternal "
        "ORDER BY 1, 2"
    )
    before = await connection.fetch(query, old_schema)
    await migrate(pg_dsn, schema=old_schema)
    after = await connection.fetch(query, old_schema)
    # 0012 adds a table of its own (its key and checks); the old ones are unchanged.
    assert [row for row in after if not row[0].startswith("subscription_leases")] == before


async def test_after_the_upgrade_the_database_still_refuses_to_change_an_event(
    pg_dsn: str, old_schema: str, connection: asyncpg.Connection
) -> None:
    await migrate(pg_dsn, schema=old_schema)
    with pytest.raises(asyncpg.RestrictViolationError, match="events are immutable"):
        await connection.execute(
            f"UPDATE {quote_identifier(old_schema)}.events SET data = $1::jsonb",
            json.dumps({"changed": True}),
        )

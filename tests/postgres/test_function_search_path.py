"""The append functions find the kit's tables, whatever the calling session has."""

from __future__ import annotations

import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore


@pytest.mark.parametrize("size", [1, 2], ids=["append_event", "append_events"])
async def test_an_append_ignores_the_callers_temporary_tables_of_the_same_names(
    pg_store: PostgresEventStore, size: int
) -> None:
    # A temporary table comes first in a search_path that does not name
    # pg_temp; the functions' own path names it last.
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await connection.execute(
            "CREATE TEMP TABLE events (LIKE pg_catalog.pg_class) ON COMMIT DROP; "
            "CREATE TEMP TABLE streams (stream_id text, version bigint) ON COMMIT DROP"
        )
        result = await pg_store.append_events(
            "Temp-1", [NewEvent("Opened", {}) for _ in range(size)], connection=connection
        )
    stored = [e async for e in pg_store.read_stream("Temp-1")]
    assert result.version == size
    assert [e.version for e in stored] == list(range(1, size + 1))

"""The database itself refuses to change or remove stored events."""

from __future__ import annotations

import asyncpg
import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE {}.events SET event_type = 'Forged'", id="update"),
        pytest.param("DELETE FROM {}.events", id="delete"),
        pytest.param("TRUNCATE {}.events", id="truncate"),
    ],
)
async def test_changing_stored_events_is_rejected_by_the_database(
    pg_store: PostgresEventStore, statement: str
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})])
    with pytest.raises(asyncpg.PostgresError, match="events are immutable"):
        await pg_store.pool.execute(statement.format(quote_identifier(pg_store.schema)))
    assert await pg_store.stream_version("Account-1") == 1

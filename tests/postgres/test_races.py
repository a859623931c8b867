"""Concurrent writers: one winner, kit errors only, no holes left by losers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from postgres_support import open_store

from eventsourcing_kit import AppendResult, ConcurrencyError, NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

WRITERS = 20
# One event per append goes through append_event(), more through append_events().
SIZES = pytest.mark.parametrize("size", [1, 2], ids=["one_event", "two_events"])


@pytest.fixture(params=[False, True], ids=["alone", "group_commit"])
async def store(
    request: pytest.FixtureRequest, pg_dsn: str, pg_store: PostgresEventStore
) -> AsyncIterator[PostgresEventStore]:
    if not request.param:
        yield pg_store
        return
    async with open_store(
        pg_dsn, pg_store.schema, max_size=20, visibility_wait=30, group_commit=True
    ) as grouped:
        yield grouped


async def _race(store: PostgresEventStore, rounds: int, size: int) -> list[object]:
    outcomes: list[object] = []
    for version in range(rounds):
        outcomes += await asyncio.gather(
            *(
                store.append_events(
                    "Account-1",
                    [NewEvent("Raced", {"w": w, "n": n}) for n in range(size)],
                    expected_version=version * size,
                )
                for w in range(WRITERS)
            ),
            return_exceptions=True,
        )
    return outcomes


@SIZES
async def test_a_raw_unique_violation_never_escapes_a_race(
    store: PostgresEventStore, size: int
) -> None:
    outcomes = await _race(store, 5, size)
    kinds = {type(outcome) for outcome in outcomes}
    assert kinds == {AppendResult, ConcurrencyError}, outcomes


@SIZES
async def test_losing_writers_leave_no_hole_in_global_positions(
    store: PostgresEventStore, size: int
) -> None:
    await _race(store, 5, size)
    await store.append_events("Account-2", [NewEvent("After", {})])
    positions = [
        row[0]
        for row in await store.pool.fetch(
            f"SELECT global_position FROM {quote_identifier(store.schema)}.events "
            "ORDER BY global_position"
        )
    ]
    assert positions == list(range(positions[0], positions[0] + 5 * size + 1))

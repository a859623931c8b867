"""Reads are sent again until a short deadline while their connections keep dying.

Through the fault proxy on the private cluster: the proxy cuts the
connection each time the read's statement is about to reach the server, as
a kill storm does to the connections it ended. A read is always safe to
send again, so the store keeps trying other connections until one answers,
or tells the caller the server is gone once the deadline (about a second)
has passed.
"""

from __future__ import annotations

import time

import pytest
from proxy import FaultProxy, parse_of

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import StoreUnavailableError
from eventsourcing_kit.stores.postgres import PostgresEventStore

READ_STREAM = "WHERE stream_id = $1 AND version >= $2"
DEADLINE_S = 1.0  # the store's documented read deadline (docs/guarantees.md)


async def test_a_read_whose_connections_die_three_times_in_a_row_still_answers(
    proxy: FaultProxy, proxied_store: PostgresEventStore
) -> None:
    await proxied_store.append_events("Account-1", [NewEvent("Opened", {})])
    lost = proxy.lose(parse_of(READ_STREAM), "message", times=3)
    events = [event async for event in proxied_store.read_stream("Account-1")]
    assert lost.fired == 3
    assert [event.version for event in events] == [1]


async def test_a_read_whose_connections_always_die_fails_soon_after_its_deadline(
    proxy: FaultProxy, proxied_store: PostgresEventStore
) -> None:
    proxy.lose(parse_of(READ_STREAM), "message", times=1_000)
    started = time.monotonic()
    with pytest.raises(StoreUnavailableError):
        [event async for event in proxied_store.read_stream("Account-1")]
    took = time.monotonic() - started
    assert DEADLINE_S <= took < DEADLINE_S + 2.0, took

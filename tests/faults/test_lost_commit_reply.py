"""A lost reply to COMMIT, through the fault proxy, on the private cluster.

The checkpoint transaction commits on the server, and the connection is cut
before its reply reaches the kit. The subscription sees a store error; it
must reload its checkpoint rather than hand the committed batch over again.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from proxy import FaultProxy, simple_query

from eventsourcing_kit import NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier
from eventsourcing_kit.subscriptions import HandlerContext, RetryPolicy, SubscriptionState

GUARD_S = 30.0


async def test_a_batch_whose_commit_reply_was_lost_is_handled_and_committed_once(
    proxy: FaultProxy, proxied_store: PostgresEventStore, schema: str
) -> None:
    store = proxied_store
    table = f"{quote_identifier(schema)}.seen"
    await store.pool.execute(f"CREATE TABLE {table} (event_id text NOT NULL)")
    for n in range(9):
        await store.append_events("Account-1", [NewEvent("Deposited", {"n": n})])
    events = [str(event.event_id) async for event in store.read_all()]
    head = await store.head_position()
    calls: list[str] = []

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        calls.append(str(event.event_id))
        await context.connection.execute(
            f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
        )

    lost = proxy.lose(simple_query("COMMIT"), "reply", times=2)
    subscription = subscribe(
        store,
        "projection",
        record,
        transactional=True,
        batch_size=3,
        retry=RetryPolicy(initial_delay=0.01),
        lease=False,
    )
    async with subscription:

        async def caught_up() -> None:
            while not (  # noqa: ASYNC110 - plain reads of the subscription's state
                subscription.state is SubscriptionState.LIVE and subscription.checkpoint == head
            ):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(caught_up(), GUARD_S)
    assert lost.fired == 2
    rows = [row[0] for row in await store.pool.fetch(f"SELECT event_id FROM {table}")]
    assert Counter(rows) == Counter(events)
    assert calls == events  # no batch handed over a second time

"""Server restarts under a transactional subscription, on the private cluster.

Live: the server restarts while writers append and the subscription follows
them. Catching up: the server stops while the subscription is inside a
batch of a long catch-up, its transaction open; the batch rolls back with
its checkpoint, and the subscription resumes from its stored checkpoint
once the server is back.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from cluster import Cluster

from eventsourcing_kit import NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.errors import StoreError
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier
from eventsourcing_kit.subscriptions import HandlerContext, RetryPolicy, SubscriptionState

CATCH_UP_EVENTS = 3000
RESTART_AT = 725  # inside the 15th batch of 50


async def append_through(store: PostgresEventStore, count: int) -> None:
    """Append `count` events, each retried with its id until the server answers."""
    for n in range(count):
        event = NewEvent("Deposited", {"n": n})
        while True:
            try:
                await store.append_events(f"Account-{n % 3}", [event])
                break
            except StoreError:
                await asyncio.sleep(0.05)


async def test_a_live_subscription_resumes_after_a_server_restart_with_each_event_once(
    cluster: Cluster, pg_store: PostgresEventStore, schema: str
) -> None:
    table = f"{quote_identifier(schema)}.seen"
    await pg_store.pool.execute(f"CREATE TABLE {table} (event_id text NOT NULL)")

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        await context.connection.execute(
            f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
        )

    subscription = subscribe(
        pg_store,
        "projection",
        record,
        transactional=True,
        batch_size=5,
        poll_interval=0.2,
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    )
    async with subscription:
        await append_through(pg_store, 20)
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(0.3)  # the subscription meets the dead server meanwhile
        await asyncio.to_thread(cluster.start)
        await append_through(pg_store, 20)
        head = await pg_store.head_position()

        async def caught_up() -> None:
            while not (  # noqa: ASYNC110 - plain reads of the subscription's state
                subscription.state is SubscriptionState.LIVE and subscription.checkpoint == head
            ):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(caught_up(), 60)
    events = [str(event.event_id) async for event in pg_store.read_all()]
    rows = [row[0] for row in await pg_store.pool.fetch(f"SELECT event_id FROM {table}")]
    assert len(events) == 40
    assert Counter(rows) == Counter(events)


async def test_a_subscription_catching_up_resumes_after_a_server_restart_with_each_event_once(
    cluster: Cluster, pg_store: PostgresEventStore, schema: str
) -> None:
    table = f"{quote_identifier(schema)}.seen"
    await pg_store.pool.execute(f"CREATE TABLE {table} (event_id text NOT NULL)")
    for n in range(CATCH_UP_EVENTS // 100):
        await pg_store.append_events(
            f"Account-{n % 7}", [NewEvent("Deposited", {"n": k}) for k in range(100)]
        )
    head = await pg_store.head_position()
    inside = asyncio.Event()
    resume = asyncio.Event()
    calls = 0

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        nonlocal calls
        await context.connection.execute(
            f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
        )
        calls += 1
        if calls == RESTART_AT:  # inside a batch, far from the end of the log
            inside.set()
            await resume.wait()

    subscription = subscribe(
        pg_store,
        "projection",
        record,
        transactional=True,
        batch_size=50,
        poll_interval=0.2,
        retry=RetryPolicy(initial_delay=0.05, max_delay=0.5),
    )
    async with subscription:
        await asyncio.wait_for(inside.wait(), 60)
        assert subscription.state is SubscriptionState.CATCHING_UP
        await asyncio.to_thread(cluster.stop)
        resume.set()  # the batch's transaction meets the dead server
        await asyncio.sleep(0.3)
        await asyncio.to_thread(cluster.start)

        async def caught_up() -> None:
            while not (  # noqa: ASYNC110 - plain reads of the subscription's state
                subscription.state is SubscriptionState.LIVE and subscription.checkpoint == head
            ):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(caught_up(), 60)
    events = [str(event.event_id) async for event in pg_store.read_all()]
    rows = [row[0] for row in await pg_store.pool.fetch(f"SELECT event_id FROM {table}")]
    assert len(events) == CATCH_UP_EVENTS
    assert calls > CATCH_UP_EVENTS  # the interrupted batch was handed over again
    assert Counter(rows) == Counter(events)

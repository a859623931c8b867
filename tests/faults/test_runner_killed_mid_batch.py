"""SIGKILL of the active runner mid-batch while a kill storm runs, on the private cluster.

The active replica of the transactional subscription ``projection`` runs in
a process of its own (storm_worker.py, through the fault proxy) and is
SIGKILLed while it hangs inside a batch's open transaction, its read-model
rows written but not committed; a kill storm (connections ended on the
server and cut in the proxy) and 16 writers run all along. The standby, a
store of this process, takes the lease over once the dead runner's lease
expires; at the end the read model holds every event of the log once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from cluster import Cluster
from proxy import FaultProxy
from storm_support import STORM_S, Tally, Workers, caught_up, log_of, pg_storm, pg_writer, read_log

from eventsourcing_kit import NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier
from eventsourcing_kit.subscriptions import (
    HandlerContext,
    LeasePolicy,
    RetryPolicy,
    SubscriptionState,
)

WRITERS = 16
LEASE = LeasePolicy(ttl=1.0)  # storm_worker.py's
HANG_AFTER = 5  # inside its first batch (batches of 20)
DELIVERING = (SubscriptionState.CATCHING_UP, SubscriptionState.LIVE)

logger = structlog.get_logger(__name__)


@pytest.fixture
async def workers(tmp_path: Path, proxy: FaultProxy, schema: str) -> AsyncIterator[Workers]:
    started = Workers(proxy.dsn(), schema, tmp_path)
    try:
        yield started
    finally:
        await asyncio.to_thread(started.kill_all)


async def test_a_runner_killed_mid_batch_in_a_storm_hands_over_with_each_event_once(
    cluster: Cluster, proxy: FaultProxy, schema: str, workers: Workers
) -> None:
    writing = await PostgresEventStore.open(proxy.dsn(), schema=schema, migrate=True)
    standing_by = await PostgresEventStore.open(proxy.dsn(), schema=schema)
    table = f"{quote_identifier(schema)}.seen"
    await writing.pool.execute(f"CREATE TABLE {table} (event_id text NOT NULL)")
    for number in range(WRITERS):  # a first batch is waiting for the runner
        await writing.append_events(f"Account-{number}", [NewEvent("Opened", {})])

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        await context.connection.execute(
            f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
        )

    standby = subscribe(
        standing_by,
        "projection",
        record,
        transactional=True,
        batch_size=20,
        retry=RetryPolicy(initial_delay=0.02, max_delay=0.2),
        lease=LEASE,
    )
    loop = asyncio.get_running_loop()
    calm = asyncio.Event()
    storming = asyncio.Event()

    async def storm() -> int:
        await storming.wait()  # once the runner to kill is inside its batch
        return await pg_storm(cluster.dsn, proxy, calm)

    async def write(number: int) -> None:
        await storming.wait()
        await pg_writer(writing, number, calm)

    async def kill_mid_batch() -> float:
        """SIGKILL the active runner inside its batch; the seconds the standby took."""
        try:
            slot = workers.start("--replica", table, HANG_AFTER)
            await workers.ready(slot, "in-batch")  # the active runner, inside its batch
            await standby.start()
            while standby.state is not SubscriptionState.STANDBY:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            storming.set()
            await asyncio.sleep(0.5)  # a few rounds of the storm first
            await asyncio.to_thread(workers.kill, slot)
            killed = loop.time()
            while standby.state not in DELIVERING:  # noqa: ASYNC110 - a plain read
                await asyncio.sleep(0.01)
            took = loop.time() - killed
            await asyncio.sleep(max(0.0, STORM_S - took))  # the storm goes on a while
            return took
        finally:
            storming.set()
            calm.set()

    try:
        ended, *_, took = await asyncio.gather(
            storm(),
            *(write(number) for number in range(WRITERS)),
            asyncio.wait_for(kill_mid_batch(), 120),
        )
        events, head = await read_log(writing)
        await caught_up(writing, ["projection"], head)
        rows = [row[0] for row in await writing.pool.fetch(f"SELECT event_id FROM {table}")]
    finally:
        await standby.stop()
        await standing_by.close()
        await writing.close()
    tally = Tally.of("projection", events, rows)
    log_of("postgres", 0, [tally], takeover_s=round(took, 3), connections_ended=ended)
    assert workers.kills == 1
    assert len(events) > WRITERS
    assert tally.exactly_once, tally

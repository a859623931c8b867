"""Issue 12's acceptance: a storm under 16 writers, two leased replicas and a 3-member group.

Two transactional read models are written while the storm runs: one by the
subscription ``projection`` running in two replicas (one active by lease,
the other standing by), one by the self-balancing consumer group ``group``
(6 partitions) with three members. At the end each read model holds every
event of the log exactly once, checked against a replay of the log.

PostgreSQL: every store connects through the fault proxy to the private
cluster; every 50 to 200 ms either every client connection of the database
is terminated on the server (``pg_terminate_backend``) or the proxy cuts
every link it carries (the client's socket dies under it, as in a network
failure). The writers, replicas and members are stores of this process.

SQLite: there are no connections to kill; what ends a SQLite client's
session abruptly is its process dying. So the writers, the replicas and
the members run in three processes of their own (16 writer tasks among
them; a replica in each of two; a member in each), and every 100 to 500 ms
one of them, chosen at random, is SIGKILLed (inside a write transaction or
not) and started again: a killed writer's transaction is undone by SQLite,
a killed runner's batch rolls back with its checkpoint, and its leases
pass to the others or to its restarted self once they expire. Three
processes rather than nine (one per role): each start imports the kit,
about a second of a loaded 2-core machine, and a kill that takes down a
writer, a replica and a member at once is the harsher storm.

`make test` runs each storm once, for 2 seconds; `make test-thorough`
(EVENTSOURCING_KIT_SOAK=1) for 20 seconds, five times in a row.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

import pytest
from cluster import Cluster
from proxy import FaultProxy
from storm_support import (
    PARTITIONS,
    RUNS,
    STORM_S,
    STORM_TIMEOUT_S,
    Tally,
    Workers,
    caught_up,
    group_checkpoints,
    log_of,
    pg_storm,
    pg_writer,
    phase,
    read_log,
)

from eventsourcing_kit import RecordedEvent, connect, subscribe
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier
from eventsourcing_kit.subscriptions import (
    BalancingMember,
    HandlerContext,
    LeasePolicy,
    RetryPolicy,
    Subscription,
    join_group,
)

WRITERS = 16
MEMBERS = 3
LEASE = LeasePolicy(ttl=1.0)
RETRY = RetryPolicy(initial_delay=0.02, max_delay=0.2)


@pytest.mark.timeout(STORM_TIMEOUT_S)
@pytest.mark.parametrize("run", range(RUNS))
async def test_a_kill_storm_leaves_each_event_once_in_replicas_and_group_on_postgres(
    run: int, cluster: Cluster, proxy: FaultProxy, schema: str
) -> None:
    stores = [
        await PostgresEventStore.open(proxy.dsn(), schema=schema, migrate=True)
        for _ in range(1 + 2 + MEMBERS)
    ]
    writing, replica_stores, member_stores = stores[0], stores[1:3], stores[3:]
    tables = {name: f"{quote_identifier(schema)}.{name}" for name in ("projection", "grouped")}
    for table in tables.values():
        await writing.pool.execute(f"CREATE TABLE {table} (event_id text NOT NULL)")

    def recorder(table: str) -> object:
        async def record(event: RecordedEvent, context: HandlerContext) -> None:
            await context.connection.execute(
                f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
            )

        return record

    replicas: list[Subscription] = [
        subscribe(
            store,
            "projection",
            recorder(tables["projection"]),  # type: ignore[arg-type]
            transactional=True,
            batch_size=20,
            retry=RETRY,
            lease=LEASE,
        )
        for store in replica_stores
    ]
    members: list[BalancingMember] = [
        join_group(
            store,
            "group",
            recorder(tables["grouped"]),  # type: ignore[arg-type]
            partitions=PARTITIONS,
            transactional=True,
            batch_size=20,
            retry=RETRY,
            lease=LEASE,
        )
        for store in member_stores
    ]
    membership = [asyncio.create_task(member.run()) for member in members]
    try:
        for replica in replicas:
            await replica.start()
        until = asyncio.get_running_loop().time() + STORM_S
        storm = asyncio.gather(
            pg_storm(cluster.dsn, proxy, until),
            *(pg_writer(writing, number, until) for number in range(WRITERS)),
        )
        ended, *_ = await phase("the storm", storm, STORM_S + 30)
        assert ended > 0
        events, head = await read_log(writing)
        await caught_up(writing, ["projection", *group_checkpoints()], head)
        rows = {
            name: [row[0] for row in await writing.pool.fetch(f"SELECT event_id FROM {table}")]
            for name, table in tables.items()
        }
    finally:

        async def wind_down() -> None:
            for replica in replicas:
                await replica.stop()
            for member in members:
                await member.stop()
            await asyncio.gather(*membership)  # a partition's failure is raised here
            for store in stores:
                await store.close()

        await phase("stopping the runners and closing the stores", wind_down(), 60)
    tallies = [Tally.of(name, events, rows[name]) for name in tables]
    log_of("postgres", run, tallies, storm_s=STORM_S, connections_ended=ended)
    assert len(events) > WRITERS
    assert all(tally.exactly_once for tally in tallies), tallies


SQLITE_TABLES = ("projection", "grouped")


def sqlite_tables(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as connection:
        for table in SQLITE_TABLES:
            connection.execute(f"CREATE TABLE {table} (event_id TEXT NOT NULL)")


def sqlite_rows(path: Path, table: str) -> list[str]:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return [row[0] for row in connection.execute(f"SELECT event_id FROM {table}")]
    finally:
        connection.close()


@pytest.mark.timeout(STORM_TIMEOUT_S)
@pytest.mark.parametrize("run", range(RUNS))
async def test_a_process_kill_storm_leaves_each_event_once_in_replicas_and_group_on_sqlite(
    run: int, tmp_path: Path
) -> None:
    path = tmp_path / "storm.db"
    url = f"sqlite:///{path}"
    async with connect(url) as store:  # creates and migrates the file
        sqlite_tables(path)
        workers = Workers(url, "", tmp_path)
        loop = asyncio.get_running_loop()
        started = loop.time()
        stop = tmp_path / "stop-writing"
        group = ("--member", "grouped", PARTITIONS)
        try:
            workers.start("--writers", 0, 6, stop, "--replica", "projection", 0, *group)
            workers.start("--writers", 6, 5, stop, "--replica", "projection", 0, *group)
            workers.start("--writers", 11, 5, stop, *group)
            for slot in range(len(workers.slots)):
                await workers.ready(slot)
            until = loop.time() + STORM_S
            while loop.time() < until:
                await asyncio.sleep(random.uniform(0.1, 0.5))
                await asyncio.to_thread(workers.restart, random.randrange(len(workers.slots)))
            stop.touch()
            for slot in range(len(workers.slots)):
                await workers.ready(slot, "stopped-writing")
            events, head = await read_log(store)
            await caught_up(store, ["projection", *group_checkpoints()], head)
        finally:
            await asyncio.to_thread(workers.kill_all)
    tallies = [Tally.of(name, events, sqlite_rows(path, name)) for name in SQLITE_TABLES]
    took = round(loop.time() - started, 1)
    log_of("sqlite", run, tallies, storm_s=STORM_S, processes_killed=workers.kills, took_s=took)
    assert len(events) > WRITERS
    assert workers.kills > len(workers.slots)  # the storm's, and the final kills
    assert all(tally.exactly_once for tally in tallies), tallies

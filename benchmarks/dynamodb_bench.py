"""The DynamoDB store on DynamoDB Local: appends, reads, the indexer's latency, capacity units.

Run: .venv/bin/python benchmarks/dynamodb_bench.py  (a few minutes)
Uses the emulator at EVENTSOURCING_KIT_TEST_DYNAMODB, else installs (if
missing) and starts a fresh DynamoDB Local for each run. Writes
benchmarks/results/dynamodb.json: the median of RUNS runs of each measure,
each run on a new table. ``--quick``: one small run, results printed only.

These are emulator figures, not AWS figures: DynamoDB Local is one Java
process on this machine, with none of AWS's network round trips, partition
limits or throttling. What carries over to AWS is the capacity each
operation consumes, computed here from the sizes of the items actually
stored (DynamoDB's rules: names plus values; writes per 1 KB, strongly
consistent reads per 4 KB, transactional operations count twice).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import platform
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aioboto3
import structlog

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing.dynamodb_local import (
    ENDPOINT_ENV,
    LocalEmulator,
    default_install_dir,
    install,
)

RUNS = 3
SINGLE_APPENDS = 300
BATCHES = 40
BATCH_SIZE = 25
WRITERS = 16
WRITER_APPENDS = 20
STREAM_LENGTH = 1000
LATENCY_SAMPLES = 200
REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# DynamoDB Local has no per-shard read limit: the emulator's figures are taken
# without the pause the default keeps for AWS (docs/dynamodb.md).
LOCAL_OPTIONS = {**CREDENTIALS, "shard_read_interval": 0.0}
RESULTS = Path(__file__).parent / "results" / "dynamodb.json"


def payload(n: int) -> dict[str, object]:
    return {"amount": n, "currency": "EUR", "note": "benchmark deposit", "tags": ["a", "b"]}


async def single_appends(store: DynamoDBEventStore, count: int) -> float:
    """One event per append, one task, exact expected versions: appends/s."""
    started = time.perf_counter()
    for n in range(count):
        await store.append_events(
            f"Account-{n % 50}", [NewEvent("Deposited", payload(n))], expected_version=n // 50
        )
    return count / (time.perf_counter() - started)


async def batch_appends(store: DynamoDBEventStore, batches: int) -> float:
    """BATCH_SIZE events per append, a new stream each: events/s."""
    started = time.perf_counter()
    for b in range(batches):
        events = [NewEvent("Deposited", payload(n)) for n in range(BATCH_SIZE)]
        await store.append_events(f"Batch-{b}", events, expected_version=0)
    return batches * BATCH_SIZE / (time.perf_counter() - started)


async def concurrent_appends(store: DynamoDBEventStore, appends: int) -> float:
    """WRITERS tasks, one event per append, each on a stream of its own: appends/s."""

    async def writer(task: int) -> None:
        for n in range(appends):
            await store.append_events(
                f"Order-{task}", [NewEvent("Placed", payload(n))], expected_version=n
            )

    started = time.perf_counter()
    await asyncio.gather(*(writer(task) for task in range(WRITERS)))
    return WRITERS * appends / (time.perf_counter() - started)


async def stream_read(store: DynamoDBEventStore, length: int) -> float:
    """One stream of `length` events, read whole: events/s."""
    for start in range(0, length, BATCH_SIZE):
        events = [NewEvent("Deposited", payload(n)) for n in range(BATCH_SIZE)]
        await store.append_events("Long-1", events, expected_version=start)
    started = time.perf_counter()
    count = sum([1 async for _ in store.read_stream("Long-1")])
    return count / (time.perf_counter() - started)


async def read_all(store: DynamoDBEventStore) -> tuple[float, int]:
    """Every event of the table through read_all: events/s, and how many."""
    started = time.perf_counter()
    count = sum([1 async for _ in store.read_all()])
    return count / (time.perf_counter() - started), count


async def indexer_latency(
    writer: DynamoDBEventStore, indexer: DynamoDBEventStore, samples: int
) -> list[float]:
    """Milliseconds from an append's call to its event in the global log.

    The writer runs no indexer (as a process other than the indexer's would);
    the follower reads on the indexer's store, which learns of each commit at
    once, so the figure is the stream's delivery, the indexer's pass and its
    commit, not the follower's polling.
    """
    latencies: list[float] = []
    position = await indexer.head_position()
    for n in range(samples):
        started = time.perf_counter()
        task = asyncio.create_task(
            writer.append_events("Latency-1", [NewEvent("Pinged", {"n": n})], expected_version=n)
        )
        seen = False
        while not seen:
            async for event in indexer.read_all(from_position=position):
                position = event.position
                seen = True
            if not seen:
                await indexer.wait_for_events(timeout=0.01)
        latencies.append((time.perf_counter() - started) * 1000)
        await task
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


# --- capacity units, from the sizes of stored items -----------------------------------


def value_size(value: dict[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "B":
        return len(content)
    if kind == "N":
        digits = len(content.lstrip("-").replace(".", "").strip("0")) or 1
        return 1 + math.ceil(digits / 2)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(v) for k, v in content.items())
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in content)
    return 1


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def wcu(size: int) -> int:
    return math.ceil(size / 1024)


def rcu(size: int) -> int:
    return math.ceil(size / 4096)


async def capacity(endpoint: str, table: str, batch: int) -> dict[str, Any]:
    """Capacity units per append and per event, from the items of one stored append."""
    session = aioboto3.Session(region_name=REGION, **CREDENTIALS)
    async with session.client("dynamodb", endpoint_url=endpoint) as client:

        async def get(pk: str, sk: int) -> dict[str, Any]:
            response = await client.get_item(
                TableName=table, Key={"pk": {"S": pk}, "sk": {"N": str(sk)}}, ConsistentRead=True
            )
            return dict(response["Item"])

        event = await get("E#Account-0", 1)
        head = await get("E#Account-0", 0)
        id_record = await get(f"I#{event['i']['S']}", 0)
        log = await get("G#0", int(event["gp"]["N"]))
        category_log = await get("K#Account#0", int(event["gp"]["N"]))
        state = await get("X#global", 0)
        lease = await get("L#global", 0)
    sizes = {
        "event_item": item_size(event),
        "head_item": item_size(head),
        "event_id_item": item_size(id_record),
        "global_log_item": item_size(log),
        "category_log_item": item_size(category_log),
        "indexer_state_item": item_size(state),
        "lease_item": item_size(lease),
    }
    # An append: per stream the head update, per event the event and its id
    # record; all transactional (x2). The waiting appender reads the event
    # back once, strongly consistent, unless its own process indexed it.
    single_append_wcu = 2 * (
        wcu(sizes["head_item"]) + wcu(sizes["event_item"]) + wcu(sizes["event_id_item"])
    )
    batch_append_wcu = 2 * (
        wcu(sizes["head_item"]) + batch * (wcu(sizes["event_item"]) + wcu(sizes["event_id_item"]))
    )
    # Indexing, per event: its global and category log copies and the update
    # that gives the event its position (an update costs the item's whole
    # size), transactional;
    # per commit: the lease check and the state item; the Query that reads
    # the unindexed events back.
    index_event_wcu = 2 * (
        wcu(sizes["global_log_item"]) + wcu(sizes["category_log_item"]) + wcu(sizes["event_item"])
    )
    index_commit_wcu = 2 * (wcu(sizes["lease_item"]) + wcu(sizes["indexer_state_item"]))
    return {
        "item_bytes": sizes,
        "append_1_event": {
            "wcu": single_append_wcu,
            "rcu_reading_back_position": rcu(sizes["event_item"]),
            "rcu_extra_for_ANY_or_STREAM_EXISTS": rcu(sizes["head_item"]),
        },
        f"append_{batch}_events": {
            "wcu": batch_append_wcu,
            "wcu_per_event": round(batch_append_wcu / batch, 2),
        },
        "indexing_per_event": {
            "wcu": index_event_wcu,
            "rcu_query_back": round(sizes["event_item"] / 4096, 3),
        },
        "indexing_per_commit_of_up_to_32_events": {"wcu": index_commit_wcu},
        "read_per_event_strongly_consistent": {
            "read_stream_rcu": round(sizes["event_item"] / 4096, 3),
            "read_all_rcu": round(sizes["global_log_item"] / 4096, 3),
            "read_category_rcu": round(sizes["category_log_item"] / 4096, 3),
        },
    }


# --- runs ------------------------------------------------------------------------------


async def one_run(endpoint: str, *, quick: bool) -> tuple[dict[str, float], list[float], str]:
    table = f"bench_{secrets.token_hex(4)}"
    url = f"dynamodb://{table}?endpoint_url={endpoint}&region={REGION}"
    store = await DynamoDBEventStore.open(url, **LOCAL_OPTIONS)
    writer = await DynamoDBEventStore.open(url, indexer=False, **LOCAL_OPTIONS)
    scale = 10 if quick else 1
    try:
        results = {
            "single_event_appends_per_s": await single_appends(store, SINGLE_APPENDS // scale),
            "batch_25_events_per_s": await batch_appends(store, BATCHES // scale),
            "concurrent_16_writers_appends_per_s": await concurrent_appends(
                store, WRITER_APPENDS // scale
            ),
            "read_stream_events_per_s": await stream_read(store, STREAM_LENGTH // scale),
        }
        results["read_all_events_per_s"], results["read_all_events"] = await read_all(store)
        latencies = await indexer_latency(writer, store, LATENCY_SAMPLES // scale)
    finally:
        await writer.close()
        await store.close()
    return results, latencies, table


async def drop(endpoint: str, table: str) -> None:
    session = aioboto3.Session(region_name=REGION, **CREDENTIALS)
    async with session.client("dynamodb", endpoint_url=endpoint) as client:
        await client.delete_table(TableName=table)


async def measured_run(
    endpoint: str | None, *, quick: bool
) -> tuple[dict[str, float], list[float], dict[str, Any]]:
    """One run on a new table, on the named emulator or on a fresh one of its own."""
    # A fresh emulator per run: DynamoDB Local slows down as it accumulates
    # data (its GetRecords most), which would make later runs pay for earlier ones.
    emulator = None
    if endpoint is None:
        emulator = LocalEmulator.start(install(default_install_dir()))
        endpoint = emulator.endpoint_url
    try:
        results, latencies, table = await one_run(endpoint, quick=quick)
        units = await capacity(endpoint, table, BATCH_SIZE)
        await drop(endpoint, table)
    finally:
        if emulator is not None:
            emulator.stop()
    return results, latencies, units


async def main(*, quick: bool) -> None:
    endpoint = os.environ.get(ENDPOINT_ENV) or None
    load_before = os.getloadavg()[0]
    runs: list[dict[str, float]] = []
    latencies: list[float] = []
    count = 1 if quick else RUNS
    units: dict[str, Any] = {}
    for run in range(count):
        results, run_latencies, units = await measured_run(endpoint, quick=quick)
        runs.append(results)
        latencies.extend(run_latencies)
        print(f"run {run + 1}/{count}: {json.dumps({k: round(v) for k, v in results.items()})}")
    medians = {name: round(statistics.median(r[name] for r in runs)) for name in runs[0]}
    result = {
        "note": (
            "DynamoDB Local on this machine, not AWS: throughput and latency here say little "
            "about AWS; the capacity units (from stored item sizes) are what AWS bills"
        ),
        "medians": medians,
        "indexer_latency_ms": {
            "median": round(statistics.median(latencies), 1),
            "p99": round(percentile(latencies, 0.99), 1),
            "samples": len(latencies),
            "what": "append call -> event readable in read_all, writer without an indexer",
        },
        "capacity_units": units,
        "runs": count,
        "all_runs": [{k: round(v) for k, v in r.items()} for r in runs],
        "workload": {
            "single_appends": SINGLE_APPENDS,
            "batches": BATCHES,
            "batch_size": BATCH_SIZE,
            "writers": WRITERS,
            "appends_per_writer": WRITER_APPENDS,
            "stream_length": STREAM_LENGTH,
            "payload_bytes": len(json.dumps(payload(1000))),
        },
        "settings": {"poll_interval_s": 0.05, "lease_ttl_s": 10.0, "shard_read_interval_s": 0.0},
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews the figures: compare runs made at a similar load.
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps({k: result[k] for k in ("medians", "indexer_latency_ms")}, indent=2))
    if not quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    # An application (this script) configures logging, not the library: keep
    # the per-append debug lines out of the measurement.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    parser = argparse.ArgumentParser(description="The DynamoDB store on DynamoDB Local")
    parser.add_argument("--quick", action="store_true", help="one small run; do not write results")
    asyncio.run(main(quick=parser.parse_args().quick))

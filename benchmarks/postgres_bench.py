"""PostgreSQL event store benchmark: the kit against the raw floor and pyeventsourcing.

    .venv/bin/python benchmarks/postgres_bench.py            # full run, ~3 min
    .venv/bin/python benchmarks/postgres_bench.py --quick    # check the harness, ~20 s

Every system runs the same workloads on the same server in one process run;
each measurement gets a fresh schema, dropped afterwards. Repetitions are
interleaved (rep 1 of every system, then rep 2, ...) with the systems' order
rotated, so drift from other load on the machine hits all of them alike.
Ratios are ratios of medians from this one run. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import importlib.metadata
import json
import logging
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any

import _pg_common as common
import _pg_floor as floor
import _pg_kit as kit
import _pg_peer as peer
import asyncpg
import attrs
import structlog

from eventsourcing_kit import migrate

RESULTS = pathlib.Path(__file__).parent / "results" / "postgres.json"

Run = Callable[[], Awaitable[common.Timing]]
"""One measurement: sets up in a fresh schema, returns what the timed part cost."""


# --- the measurements ------------------------------------------------------------


def write_runs(sizes: common.Sizes) -> dict[str, dict[str, tuple[int, Run]]]:
    """Scenario -> system -> (events written, measurement)."""
    single = common.single_event_plan(sizes.single_appends, sizes.single_streams)
    batches = common.batch_plan(sizes.batches, sizes.batch_size)
    writers = common.writer_plans(common.WRITERS, sizes.events_per_writer)
    n_single = len(single)
    n_batch = sizes.batches * sizes.batch_size
    n_conc = common.WRITERS * sizes.events_per_writer

    def raw(label: str, work: Callable[[str], Awaitable[common.Timing]]) -> Run:
        async def run() -> common.Timing:
            async with common.fresh_schema(label) as schema:
                await floor.install(schema)
                return await work(schema)

        return run

    def in_kit_schema(work: Callable[[str], Awaitable[common.Timing]]) -> Run:
        async def run() -> common.Timing:
            async with common.fresh_schema("kitraw", create=False) as schema:
                await migrate(common.dsn(), schema=schema)
                return await work(schema)

        return run

    def ours(work: Callable[[Any], Awaitable[common.Timing]], *, pool: int, **options: Any) -> Run:
        async def run() -> common.Timing:
            async with (
                common.fresh_schema("kit", create=False) as schema,
                kit.store_in(schema, pool_size=pool, **options) as store,
            ):
                return await work(store)

        return run

    def theirs(work: Callable[[Any], common.Timing], *, pool: int) -> Run:
        async def run() -> common.Timing:
            async with common.fresh_schema("peer") as schema:
                # Its API is synchronous: keep it off the event loop's thread.
                app = await asyncio.to_thread(peer.open_app, schema, pool_size=pool)
                try:
                    return await asyncio.to_thread(work, app)
                finally:
                    await asyncio.to_thread(app.close)

        return run

    # One connection per writer, plus one for the kit's background NOTIFY
    # (notify="coalesced" borrows a pool connection after commits).
    pool = common.WRITERS
    return {
        "single": {
            "raw": (n_single, raw("raw", lambda s: floor.single(s, single))),
            "kit": (n_single, ours(lambda st: kit.single(st, single), pool=2)),
            "kit_notify_off": (
                n_single,
                ours(lambda st: kit.single(st, single), pool=2, notify="off"),
            ),
            # References for the kit's schema and check, without its client:
            # the floor's INSERT into the kit's own table, and the kit's
            # append statement on a plain connection.
            "raw_kit_table": (n_single, in_kit_schema(lambda s: floor.single(s, single))),
            "raw_kit_statement": (
                n_single,
                in_kit_schema(lambda s: floor.single_kit_statement(s, single)),
            ),
            "peer": (n_single, theirs(lambda app: peer.single(app, single), pool=2)),
        },
        "batch100": {
            "raw_executemany": (n_batch, raw("raw", lambda s: floor.batch_executemany(s, batches))),
            "raw_copy": (n_batch, raw("raw", lambda s: floor.batch_copy(s, batches))),
            "kit": (n_batch, ours(lambda st: kit.batches(st, batches), pool=2)),
            "peer": (n_batch, theirs(lambda app: peer.batches(app, batches), pool=2)),
        },
        "concurrent16": {
            "raw": (n_conc, raw("raw", lambda s: floor.concurrent(s, writers))),
            "raw_table_lock": (
                n_conc,
                raw("lock", lambda s: floor.concurrent(s, writers, table_lock=True)),
            ),
            # The default: appends queued at the same moment share one transaction.
            "kit": (n_conc, ours(lambda st: kit.concurrent(st, writers), pool=pool + 1)),
            # Every append its own transaction, as before group commit was the default.
            "kit_no_group_commit": (
                n_conc,
                ours(lambda st: kit.concurrent(st, writers), pool=pool + 1, group_commit=False),
            ),
            "peer": (n_conc, theirs(lambda app: peer.concurrent(app, writers), pool=pool)),
        },
    }


async def vacuum_schema(schema: str) -> None:
    """Set hint bits and statistics on a seeded schema, as a settled table has."""
    conn = await asyncpg.connect(common.dsn())
    try:
        tables = await conn.fetch(
            "SELECT format('VACUUM ANALYZE %I.%I', schemaname, tablename) FROM pg_tables "
            "WHERE schemaname = $1",
            schema,
        )
        for (statement,) in tables:
            await conn.execute(statement)
    finally:
        await conn.close()


async def read_phase(sizes: common.Sizes, order: Callable[[list[str], int], list[str]]) -> Any:
    """Seed one schema per system with the same events, then time reads of it."""
    plan = common.batch_plan(sizes.read_events // 100, 100, prefix="r")
    n = sizes.read_events
    schemas = {name: common.new_schema_name(name) for name in ("raw", "kit", "peer")}
    await common.create_schema(schemas["raw"])
    await common.create_schema(schemas["peer"])
    store = app = None
    try:
        await floor.install(schemas["raw"])
        await floor.seed(schemas["raw"], plan)
        store = await kit.open_store(schemas["kit"], pool_size=2)
        await kit.seed(store, plan)
        app = await asyncio.to_thread(peer.open_app, schemas["peer"], pool_size=2)
        await asyncio.to_thread(peer.seed, app, plan)
        for schema in schemas.values():
            await vacuum_schema(schema)

        runs: dict[str, Run] = {
            "raw": lambda: floor.read(schemas["raw"], n),
            "raw_paged": lambda: floor.read_paged(schemas["raw"], n),
            "kit": lambda: kit.read(store, n),
            "kit_batch_5000": lambda: kit.read(store, n, batch_size=5000),
            "peer": lambda: asyncio.to_thread(peer.read, app, n),
        }
        for run in runs.values():  # warm the caches and statement caches alike
            await run()
        times: dict[str, list[common.Timing]] = {name: [] for name in runs}
        for rep in range(sizes.repetitions):
            for name in order(list(runs), rep):
                times[name].append(await runs[name]())
        return {"read": {name: (n, t) for name, t in times.items()}}
    finally:
        if store is not None:
            await store.close()
        if app is not None:
            await asyncio.to_thread(app.close)
        for schema in schemas.values():
            await common.drop_schema(schema)


def rotate(names: list[str], rep: int) -> list[str]:
    k = rep % len(names)
    return names[k:] + names[:k]


async def measure(sizes: common.Sizes, only: set[str] | None) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {}
    for scenario, systems in write_runs(sizes).items():
        if only and scenario not in only:
            continue
        times: dict[str, list[common.Timing]] = {name: [] for name in systems}
        for rep in range(sizes.repetitions):
            for name in rotate(list(systems), rep):
                times[name].append(await systems[name][1]())
            print(f"  {scenario}: repetition {rep + 1}/{sizes.repetitions} done", flush=True)
        results[scenario] = {name: (systems[name][0], times[name]) for name in systems}
    if not only or "read" in only:
        results.update(await read_phase(sizes, rotate))
        print("  read: done", flush=True)
    return {
        scenario: {name: common.summarize(n, timings) for name, (n, timings) in systems.items()}
        for scenario, systems in results.items()
    }


# --- ratios -----------------------------------------------------------------------

TARGETS = {
    "single_kit_vs_raw": 0.80,
    "batch100_kit_vs_raw_executemany": 0.75,
    "concurrent16_kit_vs_raw": 0.70,
    "read_kit_vs_raw": 0.80,
}


def ratios(medians: dict[str, Any]) -> dict[str, Any]:
    """Every ratio of interest, from the medians of this run."""
    out: dict[str, Any] = {}

    def put(key: str, scenario: str, system: str, reference: str) -> None:
        if scenario in medians and {system, reference} <= medians[scenario].keys():
            value = medians[scenario][system]["median"] / medians[scenario][reference]["median"]
            entry: dict[str, Any] = {"ratio": round(value, 3)}
            if key in TARGETS:
                entry["target"] = TARGETS[key]
                entry["met"] = value >= TARGETS[key]
            out[key] = entry

    if "batch100" in medians:
        batch = medians["batch100"]
        fastest = max(("raw_executemany", "raw_copy"), key=lambda k: batch[k]["median"])
        batch["raw_floor"] = {**batch[fastest], "from": fastest}
    put("single_kit_vs_raw", "single", "kit", "raw")
    put("single_kit_notify_off_vs_raw", "single", "kit_notify_off", "raw")
    put("single_raw_kit_table_vs_raw", "single", "raw_kit_table", "raw")
    put("single_raw_kit_statement_vs_raw", "single", "raw_kit_statement", "raw")
    put("single_kit_vs_raw_kit_statement", "single", "kit", "raw_kit_statement")
    put("single_peer_vs_raw", "single", "peer", "raw")
    put("batch100_kit_vs_raw_executemany", "batch100", "kit", "raw_executemany")
    put("batch100_kit_vs_raw_floor", "batch100", "kit", "raw_floor")
    put("batch100_raw_copy_vs_raw_executemany", "batch100", "raw_copy", "raw_executemany")
    put("batch100_peer_vs_raw_executemany", "batch100", "peer", "raw_executemany")
    put("batch100_peer_vs_raw_floor", "batch100", "peer", "raw_floor")
    put("concurrent16_kit_vs_raw", "concurrent16", "kit", "raw")
    put("concurrent16_kit_no_group_commit_vs_raw", "concurrent16", "kit_no_group_commit", "raw")
    put("concurrent16_peer_vs_raw", "concurrent16", "peer", "raw")
    put("concurrent16_raw_table_lock_vs_raw", "concurrent16", "raw_table_lock", "raw")
    put("read_kit_vs_raw", "read", "kit", "raw")
    put("read_kit_vs_raw_paged", "read", "kit", "raw_paged")
    put("read_kit_batch_5000_vs_raw", "read", "kit_batch_5000", "raw")
    put("read_peer_vs_raw", "read", "peer", "raw")
    return out


# --- context ----------------------------------------------------------------------


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=pathlib.Path(__file__).parent,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


async def server_info() -> dict[str, Any]:
    conn = await asyncpg.connect(common.dsn())
    try:
        settings = {}
        for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
            settings[name] = await conn.fetchval("SELECT current_setting($1)", name)
        return {"version": await conn.fetchval("SHOW server_version"), "settings": settings}
    finally:
        await conn.close()


def machine_info() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": {
            name: _version(name)
            for name in (
                "asyncpg",
                "orjson",
                "eventsourcing-kit",
                "eventsourcing",
                "psycopg",
                "psycopg-binary",
                "psycopg-pool",
            )
        },
        "psycopg_implementation": peer.psycopg_implementation(),
    }


# --- report -----------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    """The medians and ratios as a Markdown table."""
    lines = [
        "| scenario | system | events | median ev/s | spread | ratio to raw "
        "| client CPU µs/ev | server CPU µs/ev |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    references = {
        "single": "raw",
        "batch100": "raw_executemany",
        "concurrent16": "raw",
        "read": "raw",
    }
    for scenario, systems in results["medians"].items():
        reference = systems[references[scenario]]["median"]
        for name, m in systems.items():
            if name == "raw_floor":
                continue
            server = m.get("server_cpu_us_per_event")
            lines.append(
                f"| {scenario} | {name} | {m['events']} | {m['median']:,.0f} | "
                f"±{m['spread_pct'] / 2:.0f} % | {m['median'] / reference:.2f} | "
                f"{m['client_cpu_us_per_event']:.0f} | "
                f"{'' if server is None else f'{server:.0f}'} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repetitions")
    parser.add_argument("--output", type=pathlib.Path, help="results JSON path")
    parser.add_argument(
        "--only",
        action="append",
        choices=["single", "batch100", "concurrent16", "read"],
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args()
    # The store logs its migrations at info level: keep the benchmark's output readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = common.Sizes.quick() if args.quick else common.Sizes.full()
    output = args.output or (
        pathlib.Path(tempfile.gettempdir()) / "postgres_bench_quick.json" if args.quick else RESULTS
    )
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f}", flush=True)
    started = time.perf_counter()
    medians = asyncio.run(measure(sizes, set(args.only) if args.only else None))
    duration = time.perf_counter() - started
    load_after = os.getloadavg()
    results = {
        "benchmark": "postgres",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _git_commit(),
        "quick": args.quick,
        "duration_s": round(duration, 1),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "machine": machine_info(),
        "server": asyncio.run(server_info()),
        "dsn_host": "127.0.0.1",
        "sizes": {**attrs.asdict(sizes), "writers": common.WRITERS},
        "unit": "events per second (median of repetitions; spread = (max - min) / median)",
        "medians": medians,
    }
    results["ratios"] = ratios(results["medians"])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    print()
    for key, entry in results["ratios"].items():
        verdict = ""
        if "target" in entry:
            verdict = f"  (target {entry['target']:.2f}: {'met' if entry['met'] else 'MISSED'})"
        print(f"{key:40s} {entry['ratio']:.3f}{verdict}")
    print(f"\n{duration:.0f} s; results in {output}")
    if statistics.mean(load_after[:1]) > (os.cpu_count() or 1):
        print("note: the machine was busy; ratios are noisier than usual", file=sys.stderr)


if __name__ == "__main__":
    main()

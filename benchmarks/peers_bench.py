"""The kit against both Python peers in one run: pyeventsourcing 9.x and eventsource-py.

    .venv/bin/python benchmarks/peers_bench.py              # full run, see README.md
    .venv/bin/python benchmarks/peers_bench.py --quick      # tiny, results to $TMPDIR
    .venv/bin/python benchmarks/peers_bench.py --only load  # one group of scenarios

Three groups of scenarios, run one after the other, each with its systems
interleaved and rotated:

- ``store``: postgres_bench.py's shared scenarios (``single``,
  ``batch100``, ``concurrent16``, ``read``; same plans, same payloads) with
  four systems: ``raw`` (asyncpg on the kit-shaped table, the reference),
  ``kit``, ``peer`` (pyeventsourcing, _pg_peer.py) and ``eventsource``
  (eventsource-py, _pg_peer_eventsource.py).
- ``load``: one aggregate loaded through each library's repository, without
  and with snapshots (_pg_load.py), the same four systems.
- ``sqlite``: the kit's SQLite store against pyeventsourcing's sqlite module
  on a file (_sqlite_peers.py).

eventsource-py needs Python >= 3.13, so it runs in its own venv, one
subprocess per measurement that times itself (its start-up is outside the
clock; client CPU is not counted for it). Create that venv once:

    ~/.pyenv/versions/3.13.0/bin/python -m venv .venv-peer313
    .venv-peer313/bin/pip install eventsource-py asyncpg

Without it (``--eventsource-python`` not found) the run goes on without that
system and says so in the results. Writes results/peers.json: every median,
and every system against ``raw`` and the kit against each peer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import sqlite3
import subprocess
import time
from collections.abc import Collection
from contextlib import AsyncExitStack
from typing import Any

import _context as context
import _pg_common as common
import _pg_load as pg_load
import _pg_load_common as load_common
import _pg_peer as peer
import _pg_scenarios as scenarios
import _scale_common as scale
import _sqlite_peers as sqlite_peers
import attrs
import structlog
from _eventsource_process import run_worker

HERE = pathlib.Path(__file__).parent
WORKER = HERE / "_pg_peer_eventsource.py"
DEFAULT_PYTHON = HERE.parent / ".venv-peer313" / "bin" / "python"
SYSTEMS = ("raw", "kit", "peer", "eventsource")
GROUPS = ("store", "load", "sqlite")
"""Scenario groups: the store-level PostgreSQL scenarios, loading an aggregate
through each repository (_pg_load.py), SQLite against pyeventsourcing's
(_sqlite_peers.py)."""


async def _eventsource(python: pathlib.Path, schema: str, spec: dict[str, Any]) -> float:
    return float((await run_worker(python, WORKER, schema, spec))["seconds"])


def _eventsource_write(python: pathlib.Path, spec: dict[str, Any]) -> scenarios.Run:
    async def run() -> common.Timing:
        async with common.fresh_schema("es") as schema:
            seconds = await _eventsource(python, schema, spec)
            return common.Timing(seconds=seconds, client_cpu=0.0, server_cpu=None)

    return run


async def measure_store(
    sizes: common.Sizes, python: pathlib.Path | None
) -> dict[str, dict[str, dict[str, Any]]]:
    """postgres_bench.py's shared scenarios: scenario -> system -> summary."""
    chosen = [s for s in SYSTEMS if s != "eventsource" or python is not None]
    timings: dict[str, dict[str, tuple[int, list[common.Timing]]]] = {}
    writes = scenarios.write_runs(sizes)
    if python is not None:
        writes["single"]["eventsource"] = (
            sizes.single_appends,
            _eventsource_write(
                python,
                {
                    "scenario": "single",
                    "count": sizes.single_appends,
                    "streams": sizes.single_streams,
                },
            ),
        )
        writes["batch100"]["eventsource"] = (
            sizes.batches * sizes.batch_size,
            _eventsource_write(
                python,
                {"scenario": "batch100", "batches": sizes.batches, "size": sizes.batch_size},
            ),
        )
        writes["concurrent16"]["eventsource"] = (
            common.WRITERS * sizes.events_per_writer,
            _eventsource_write(
                python,
                {
                    "scenario": "concurrent",
                    "writers": common.WRITERS,
                    "per_writer": sizes.events_per_writer,
                },
            ),
        )
    for scenario, candidates in writes.items():
        runs = {name: candidates[name] for name in chosen}
        times: dict[str, list[common.Timing]] = {name: [] for name in runs}
        for rep in range(sizes.repetitions):
            for name in scenarios.rotate(list(runs), rep):
                times[name].append(await runs[name][1]())
            print(f"  {scenario}: repetition {rep + 1}/{sizes.repetitions}", flush=True)
        timings[scenario] = {name: (runs[name][0], times[name]) for name in runs}
    async with AsyncExitStack() as stack:
        reads = await scenarios.seed_read_runs(stack, sizes, lambda name: name in chosen)
        if python is not None:
            schema = await stack.enter_async_context(common.fresh_schema("es"))
            n = sizes.read_events
            await _eventsource(
                python, schema, {"scenario": "seed", "batches": n // 100, "size": 100}
            )
            await scenarios.vacuum_schema(schema)
            spec = {"scenario": "read", "expected": n}

            async def read_es() -> common.Timing:
                seconds = await _eventsource(python, schema, spec)
                return common.Timing(seconds=seconds, client_cpu=0.0, server_cpu=None)

            reads["eventsource"] = read_es
        for run in reads.values():  # warm caches alike
            await run()
        read_times: dict[str, list[common.Timing]] = {name: [] for name in reads}
        for rep in range(sizes.repetitions):
            for name in scenarios.rotate(list(reads), rep):
                read_times[name].append(await reads[name]())
        timings["read"] = {name: (sizes.read_events, t) for name, t in read_times.items()}
        print("  read: done", flush=True)
    return {
        scenario: {name: common.summarize(n, t) for name, (n, t) in by.items()}
        for scenario, by in timings.items()
    }


def ratios(medians: dict[str, dict[str, dict[str, Any]]]) -> dict[str, float]:
    """Every system against its scenario's ``raw`` (where it has one), and the
    kit (and ``kit_sync_full``, on SQLite) against each peer."""
    out: dict[str, float] = {}
    for scenario, by in medians.items():
        if "raw" in by:
            for name in by:
                if name != "raw":
                    out[f"{scenario}_{name}_vs_raw"] = round(
                        by[name]["median"] / by["raw"]["median"], 3
                    )
        for mine in ("kit", "kit_sync_full"):
            for other in ("peer", "eventsource"):
                if mine in by and other in by:
                    out[f"{scenario}_{mine}_vs_{other}"] = round(
                        by[mine]["median"] / by[other]["median"], 3
                    )
    return out


async def measure(
    groups: Collection[str],
    sizes: common.Sizes,
    load_sizes: load_common.LoadSizes,
    python: pathlib.Path | None,
) -> dict[str, Any]:
    """The chosen `groups` of scenarios, one after the other; medians and ratios."""
    medians: dict[str, dict[str, dict[str, Any]]] = {}
    if "store" in groups:
        medians.update(await measure_store(sizes, python))
    if "load" in groups:
        systems = [s for s in SYSTEMS if s != "eventsource" or python is not None]
        medians.update(
            await pg_load.measure(
                load_sizes,
                repetitions=sizes.repetitions,
                systems=systems,
                eventsource_python=python,
            )
        )
    if "sqlite" in groups:
        medians.update(await sqlite_peers.measure(sizes))
    for by in medians.values():
        if "eventsource" in by:  # its CPU is another process's: not measured
            for key in ("client_cpu_us_per_event", "client_cpu_us_per_load"):
                by["eventsource"].pop(key, None)
    return {"medians": medians, "ratios": ratios(medians)}


def _versions(python: pathlib.Path) -> dict[str, str]:
    """Python and eventsource-py versions of the peer's venv."""
    code = (
        "import importlib.metadata as m, json, platform; print(json.dumps({'python': "
        "platform.python_version(), 'eventsource-py': m.version('eventsource-py'), "
        "'asyncpg': m.version('asyncpg'), 'sqlalchemy': m.version('sqlalchemy')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(json.loads(out.stdout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=pathlib.Path)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--eventsource-python", type=pathlib.Path, default=DEFAULT_PYTHON)
    parser.add_argument(
        "--only",
        action="append",
        choices=GROUPS,
        help="run only this group of scenarios (repeatable; default: all)",
    )
    args = parser.parse_args()
    groups = args.only or list(GROUPS)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = common.Sizes.quick() if args.quick else common.Sizes.full()
    sizes = attrs.evolve(sizes, repetitions=2 if args.quick else args.repetitions)
    load_sizes = load_common.LoadSizes.quick() if args.quick else load_common.LoadSizes.full()
    python = args.eventsource_python if args.eventsource_python.exists() else None
    if python is None:
        print(f"no {args.eventsource_python}: running without eventsource-py", flush=True)
    load_before = context.load_average()
    started = time.perf_counter()
    body = asyncio.run(measure(groups, sizes, load_sizes, python))
    scale.write_results(
        scale.output_path("peers.json", quick=args.quick, explicit=args.output),
        benchmark="peers",
        quick=args.quick,
        load_before=load_before,
        body={
            "duration_s": round(time.perf_counter() - started, 1),
            "groups": groups,
            "sizes": {**attrs.asdict(sizes), "writers": common.WRITERS},
            "load_sizes": {
                **attrs.asdict(load_sizes),
                "snapshot_every": load_common.SNAPSHOT_EVERY,
                "save_size": load_common.SAVE_SIZE,
            },
            "sqlite_version": sqlite3.sqlite_version,
            "psycopg_implementation": peer.psycopg_implementation(),
            "eventsource_python": None if python is None else str(python),
            "eventsource_versions": None if python is None else _versions(python),
            "unit": "events per second (median of repetitions)",
            "units": dict.fromkeys(pg_load.SCENARIOS, "loads per second (median of repetitions)"),
            "systems": {
                "raw": "asyncpg on the kit-shaped table (the reference)",
                "kit": "the kit, as in postgres_bench.py",
                "peer": "pyeventsourcing 9.x, as in postgres_bench.py",
                "eventsource": "eventsource-py: PostgreSQLEventStore.append with an exact "
                "ExpectedVersion / read_all (Python 3.13 subprocess, self-timed)",
            },
            "load_systems": pg_load.SYSTEMS,
            "sqlite_systems": sqlite_peers.SYSTEMS,
            **body,
        },
    )


if __name__ == "__main__":
    main()

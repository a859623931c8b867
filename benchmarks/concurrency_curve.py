"""The concurrency curve on PostgreSQL: 1 to 64 writers, the kit against raw asyncpg.

    .venv/bin/python benchmarks/concurrency_curve.py            # ~6 minutes
    .venv/bin/python benchmarks/concurrency_curve.py --quick    # tiny, results to $TMPDIR
    .venv/bin/python benchmarks/concurrency_curve.py --levels 2,4,8

At each level N, N writers append one event at a time to a stream of their
own (the `concurrent16` scenario of postgres_bench.py at other widths, the
same code: _pg_raw.concurrent and _pg_kit.concurrent), TOTAL events in all:

- ``raw``: N asyncpg connections, one INSERT per transaction, into the
  kit-shaped table (_pg_raw_table.sql);
- ``kit``: N tasks on one store, pool of N + 1, group commit on (the
  default);
- ``kit_no_group_commit``: the same with ``group_commit=False``: every
  append its own transaction, which tells what group commit does at each
  level;
- ``kit_notify_off`` (only with ``--systems``): the kit with
  ``notify="off"``, what the coalesced NOTIFY costs at each level.

Levels and systems are interleaved: each repetition runs every level, and
within a level every system in a rotated order. Writes
results/concurrency_curve.json (events/s, client and server CPU per event,
kit / raw at each level).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import _context as context
import _pg_common as common
import _pg_kit as kit
import _pg_raw as raw
import _scale_common as scale
import structlog

LEVELS = (1, 2, 4, 8, 16, 32, 64)
SYSTEMS = ("raw", "kit", "kit_no_group_commit")
EXTRA = ("kit_notify_off",)
"""Run only when asked (--systems): what the coalesced NOTIFY costs at each level."""
TOTAL = 3200

Run = Callable[[], Awaitable[common.Timing]]


def _runs(writers: int, per_writer: int) -> dict[str, Run]:
    plans = common.writer_plans(writers, per_writer)

    async def run_raw() -> common.Timing:
        async with common.fresh_schema("raw") as schema:
            await raw.install(schema, "raw")
            return await raw.concurrent(schema, plans)

    def run_kit(**options: Any) -> Run:
        async def run() -> common.Timing:
            async with (
                common.fresh_schema("kit", create=False) as schema,
                kit.store_in(schema, pool_size=writers + 1, **options) as store,
            ):
                return await kit.concurrent(store, schema, plans)

        return run

    return {
        "raw": run_raw,
        "kit": run_kit(),
        "kit_no_group_commit": run_kit(group_commit=False),
        "kit_notify_off": run_kit(notify="off"),
    }


async def measure(
    levels: tuple[int, ...], total: int, repetitions: int, systems: tuple[str, ...] = SYSTEMS
) -> dict[str, Any]:
    timings: dict[int, dict[str, list[common.Timing]]] = {
        n: {name: [] for name in systems} for n in levels
    }
    events = {n: n * max(1, total // n) for n in levels}
    for rep in range(repetitions):
        for n in levels:
            runs = _runs(n, events[n] // n)
            k = rep % len(systems)
            for name in systems[k:] + systems[:k]:
                timings[n][name].append(await runs[name]())
        print(f"  repetition {rep + 1}/{repetitions}; load {context.load_average()}", flush=True)
    medians = {
        str(n): {name: common.summarize(events[n], t) for name, t in by.items()}
        for n, by in timings.items()
    }
    ratios = {
        n: {
            name: round(m[name]["median"] / m["raw"]["median"], 3)
            for name in systems
            if name != "raw"
        }
        for n, m in medians.items()
    }
    return {
        "events_per_level": {str(n): e for n, e in events.items()},
        "medians": medians,
        "vs_raw": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--levels", help="comma-separated writer counts")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--systems", help=f"comma-separated, from {', '.join(SYSTEMS + EXTRA)} (raw always)"
    )
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    levels = tuple(int(x) for x in args.levels.split(",")) if args.levels else LEVELS
    total, repetitions = (320, 1) if args.quick else (TOTAL, args.repetitions)
    load_before = context.load_average()
    started = time.perf_counter()
    chosen = SYSTEMS
    if args.systems:
        chosen = ("raw", *(x for x in args.systems.split(",") if x != "raw"))
    body = asyncio.run(measure(levels, total, repetitions, chosen))
    scale.write_results(
        scale.output_path("concurrency_curve.json", quick=args.quick, explicit=args.output),
        benchmark="concurrency_curve",
        quick=args.quick,
        load_before=load_before,
        body={
            "duration_s": round(time.perf_counter() - started, 1),
            "repetitions": repetitions,
            "unit": "events per second (median of repetitions), CPU µs per event",
            "systems": {
                "raw": "N connections, one INSERT per transaction, kit-shaped table",
                "kit": "N tasks on one store, pool of N + 1, group commit on (default)",
                "kit_no_group_commit": "the same with group_commit=False",
                "kit_notify_off": "the same with notify='off'",
            },
            **body,
        },
    )


if __name__ == "__main__":
    main()

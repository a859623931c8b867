"""PostgreSQL event store benchmark: the kit against raw asyncpg and pyeventsourcing.

    .venv/bin/python benchmarks/postgres_bench.py            # full run, about 4 minutes
    .venv/bin/python benchmarks/postgres_bench.py --quick    # check the harness, about 10 s
    .venv/bin/python benchmarks/postgres_bench.py --only single   # one scenario

Every system runs the same workloads on the same server in one process run
(_pg_scenarios.py). Each scenario's reference, ``raw``, is a plain asyncpg
INSERT (or read) on a table with the kit's columns and indexes; ``floor``,
the same on a bare table, is reported beside it. Ratios are ratios of
medians from this one run. Writes results/postgres.json and renders
results/postgres.md from it; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pathlib
import sys
import tempfile
import time
from typing import Any

import _context as context
import _pg_common as common
import _pg_peer as peer
import _pg_scenarios as scenarios
import attrs
import render_results
import structlog

RESULTS = pathlib.Path(__file__).parent / "results" / "postgres.json"

TARGETS = {
    "single_kit_vs_raw": 0.80,
    "batch100_kit_vs_raw": 0.75,
    "concurrent16_kit_vs_raw": 0.70,
    "read_kit_vs_raw": 0.80,
}
"""The performance requirement: the kit's share of the raw reference, same run."""

PACKAGES = (
    "asyncpg",
    "orjson",
    "eventsourcing-kit",
    "eventsourcing",
    "psycopg",
    "psycopg-binary",
    "psycopg-pool",
)


def ratios(medians: dict[str, Any]) -> dict[str, Any]:
    """Every system against its scenario's reference, and the kit and the
    reference against the bare floor, from the medians of this run."""
    out: dict[str, Any] = {}

    def put(scenario: str, system: str, reference: str) -> None:
        systems = medians[scenario]
        if {system, reference} <= systems.keys():
            key = f"{scenario}_{system}_vs_{reference}"
            value = systems[system]["median"] / systems[reference]["median"]
            entry: dict[str, Any] = {"ratio": round(value, 3)}
            if key in TARGETS:
                entry["target"] = TARGETS[key]
                entry["met"] = value >= TARGETS[key]
            out[key] = entry

    for scenario, systems in medians.items():
        for system in systems:
            if system not in ("raw", "floor"):
                put(scenario, system, "raw")
        # What the kit's table costs, and the kit's share of the bare floor.
        put(scenario, "raw", "floor")
        put(scenario, "kit", "floor")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 repetitions")
    parser.add_argument("--output", type=pathlib.Path, help="results JSON path")
    parser.add_argument(
        "--only",
        action="append",
        choices=scenarios.SCENARIOS,
        help="run only this scenario (repeatable)",
    )
    args = parser.parse_args()
    # The store logs its migrations at info level: keep the benchmark's output readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = common.Sizes.quick() if args.quick else common.Sizes.full()
    # Quick figures are no results: keep them out of results/.
    quick_output = pathlib.Path(tempfile.gettempdir()) / "postgres_bench_quick.json"
    output = args.output or (quick_output if args.quick else RESULTS)
    load_before = context.load_average()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f}", flush=True)
    started = time.perf_counter()
    medians = asyncio.run(scenarios.measure(sizes, scenarios=args.only or scenarios.SCENARIOS))
    duration = time.perf_counter() - started
    load_after = context.load_average()
    results = {
        "benchmark": "postgres",
        "date": context.now(),
        "git": context.git_revision(pathlib.Path(__file__).parent),
        "quick": args.quick,
        "duration_s": round(duration, 1),
        "load_average_before": load_before,
        "load_average_after": load_after,
        "machine": {
            **context.machine(PACKAGES),
            "psycopg_implementation": peer.psycopg_implementation(),
        },
        "server": asyncio.run(context.server(common.dsn())),
        "dsn_host": "127.0.0.1",
        "sizes": {**attrs.asdict(sizes), "writers": common.WRITERS},
        "unit": "events per second (median of repetitions; spread = (max - min) / median)",
        "systems": {name: scenarios.SYSTEMS[name] for name in medians},
        "medians": medians,
        "ratios": ratios(medians),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    markdown = render_results.render(output)
    print(markdown.read_text())
    print(f"{duration:.0f} s; results in {output} and {markdown}")
    if load_after[0] > (os.cpu_count() or 1):
        print("note: the machine was busy; ratios are noisier than usual", file=sys.stderr)


if __name__ == "__main__":
    main()

"""What the scale benchmarks share: latency summaries and the results file.

Each scale benchmark (growth, hot aggregate, takeover, catch-up, memory,
concurrency curve) writes one results file under results/, with the
machine, the server, the commit and the load average before and after, as
postgres_bench.py does: a ratio means little without the load it ran under.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import statistics
import sys
import tempfile
from typing import Any

import _context as context
import _pg_common as common

RESULTS = pathlib.Path(__file__).parent / "results"
PACKAGES = ("asyncpg", "orjson", "eventsourcing-kit", "eventsourcing", "psycopg")


def output_path(name: str, *, quick: bool, explicit: pathlib.Path | None = None) -> pathlib.Path:
    """results/`name`, or the temporary directory in quick mode: quick
    figures are too small to mean anything."""
    if explicit is not None:
        return explicit
    if quick:
        return pathlib.Path(tempfile.gettempdir()) / f"quick_{name}"
    return RESULTS / name


def latency_summary(seconds: list[float]) -> dict[str, Any]:
    """Median, p99 and max of per-operation latencies, in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    p99 = statistics.quantiles(ms, n=100, method="inclusive")[98] if len(ms) > 1 else ms[0]
    return {
        "count": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(ms[-1], 3),
    }


def write_results(
    path: pathlib.Path,
    *,
    benchmark: str,
    quick: bool,
    load_before: list[float],
    body: dict[str, Any],
    postgres: bool = True,
) -> None:
    """`body` with the context every results file carries, as JSON at `path`."""
    load_after = context.load_average()
    results: dict[str, Any] = {
        "benchmark": benchmark,
        "date": context.now(),
        "git": context.git_revision(pathlib.Path(__file__).parent),
        "quick": quick,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "machine": context.machine(PACKAGES),
    }
    if postgres:
        results["server"] = asyncio.run(context.server(common.dsn()))
        results["dsn_host"] = "127.0.0.1"
    results.update(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path}", flush=True)
    if load_after[0] > (os.cpu_count() or 1):
        print("note: the machine was busy; figures are noisier than usual", file=sys.stderr)

"""Peak memory of long reads on PostgreSQL: a long stream, the global order, a big aggregate.

    .venv/bin/python benchmarks/memory.py             # 1,000,000-event stream, 100,000-event load
    .venv/bin/python benchmarks/memory.py --quick     # small, results to $TMPDIR

One kit schema holds a stream of STREAM_EVENTS events (prefilled in SQL,
_memory_prefill_stream.sql) and a `Counter` aggregate of LOAD_EVENTS events
(saved through `Repository.save` in batches). Each measurement runs in a
fresh subprocess: it opens the store, reads a few events (so that every code
path is imported and every statement prepared), collects garbage and takes
its resident set size as the baseline; it then resets the kernel's peak
(``5 > /proc/self/clear_refs``), runs the read, dropping each event as it
comes, and reports the peak (VmHWM). Cases:

- ``read_stream``: ``async for e in store.read_stream(stream)`` over the
  whole stream (default page of 500);
- ``read_all``: ``async for e in store.read_all()``, the whole global order;
- ``repository_load``: ``Repository(Counter, store, snapshot_every=None)
  .load(id)``, every event replayed (no snapshot).

Writes results/memory.json: baseline, peak and peak - baseline in MiB.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import pathlib
import subprocess
import sys
import time
import uuid
from typing import Any

import _context as context
import _pg_common as common
import _pg_kit as kit
import _scale_common as scale
import asyncpg
import structlog
from _scale_domain import Counter

from eventsourcing_kit import Repository

HERE = pathlib.Path(__file__).parent
PREFILL_STREAM = (HERE / "_memory_prefill_stream.sql").read_text()
CASES = ("read_stream", "read_all", "repository_load")
RUNS = 2


def _status_kib(field: str) -> int:
    for line in pathlib.Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Set the kernel's peak resident size (VmHWM) back to the current one."""
    pathlib.Path("/proc/self/clear_refs").write_text("5")


async def _child(spec: dict[str, Any]) -> dict[str, Any]:
    case = spec["case"]
    async with kit.store_in(spec["schema"], pool_size=2, migrate=False) as store:
        repository = Repository(Counter, store, snapshot_every=None)
        aggregate_id = uuid.UUID(spec["aggregate_id"])
        # Warm-up: code imported, statements prepared, a page's worth of objects made.
        async for _ in store.read_stream(spec["stream"], batch_size=500):
            break
        async for _ in store.read_all():
            break
        gc.collect()
        baseline = _status_kib("VmRSS")
        _reset_peak()
        started = time.perf_counter()
        count = 0
        if case == "read_stream":
            async for _ in store.read_stream(spec["stream"]):
                count += 1
        elif case == "read_all":
            async for _ in store.read_all():
                count += 1
        else:
            counter = await repository.load(aggregate_id)
            count = counter.version
        seconds = time.perf_counter() - started
        peak = _status_kib("VmHWM")
    return {
        "events": count,
        "seconds": round(seconds, 2),
        "baseline_mib": round(baseline / 1024, 1),
        "peak_mib": round(peak / 1024, 1),
        "peak_over_baseline_mib": round((peak - baseline) / 1024, 1),
    }


async def _setup(schema: str, stream_events: int, load_events: int) -> dict[str, Any]:
    stream = f"Account-memory-{uuid.uuid4()}"
    async with kit.store_in(schema, pool_size=2) as store:
        conn = await asyncpg.connect(common.dsn(), server_settings={"search_path": schema})
        try:
            for low in range(1, stream_events + 1, 20_000):
                high = min(low + 20_000 - 1, stream_events)
                await conn.execute(PREFILL_STREAM, stream, low, high)
            await conn.execute("VACUUM ANALYZE events")
        finally:
            await conn.close()
        repository = Repository(Counter, store, snapshot_every=None)
        counter = Counter()
        for n in range(load_events):
            counter.deposit(n)
            if (n + 1) % 1000 == 0 or n + 1 == load_events:
                await repository.save(counter)
    return {"schema": schema, "stream": stream, "aggregate_id": str(counter.id)}


async def measure(quick: bool) -> dict[str, Any]:
    stream_events, load_events = (20_000, 5_000) if quick else (1_000_000, 100_000)
    results: dict[str, Any] = {"stream_events": stream_events, "load_events": load_events}
    async with common.fresh_schema("memory", create=False) as schema:
        spec = await _setup(schema, stream_events, load_events)
        results["global_order_events"] = stream_events + load_events
        for case in CASES:
            runs = []
            for _ in range(1 if quick else RUNS):
                child = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, __file__, "--child", json.dumps({**spec, "case": case})],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(child.stdout))
                print(f"  {case}: {runs[-1]}", flush=True)
            results[case] = {"runs": runs, **max(runs, key=lambda r: r["peak_over_baseline_mib"])}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=pathlib.Path)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.child:
        print(json.dumps(asyncio.run(_child(json.loads(args.child)))))
        return
    load_before = context.load_average()
    body = asyncio.run(measure(args.quick))
    scale.write_results(
        scale.output_path("memory.json", quick=args.quick, explicit=args.output),
        benchmark="memory",
        quick=args.quick,
        load_before=load_before,
        body={
            "unit": "MiB of resident memory (VmRSS baseline, VmHWM peak); each case's worst run",
            **body,
        },
    )


if __name__ == "__main__":
    main()

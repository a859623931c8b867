"""What the growth curves share on every backend: sizes, the workload, the ratios.

A system is anything with ``append_one(stream, n, expected)``,
``append_batch(stream, n)`` (100 events, new stream) and ``read(stream)``
(the number of events read): the kit's store, or raw statements on a table
of the same shape.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Awaitable
from typing import Any

import attrs

OPERATIONS = ("single", "batch100", "read_new", "read_old")
Latencies = dict[str, list[float]]


@attrs.frozen(kw_only=True)
class Sizes:
    points: tuple[int, ...]
    chunk: int
    streams_per_chunk: int
    repetitions: int
    single_streams: int
    single_rounds: int
    batches: int
    old_reads: int

    @classmethod
    def full(cls) -> Sizes:
        return cls(
            points=(0, 1_000_000, 5_000_000, 10_000_000),
            chunk=1_000_000,
            streams_per_chunk=100_000,
            repetitions=5,
            single_streams=20,
            single_rounds=5,
            batches=10,
            old_reads=50,
        )

    @classmethod
    def full_sqlite(cls) -> Sizes:
        """SQLite up to a million rows, in chunks of 100,000 (ten events a stream)."""
        return attrs.evolve(
            cls.full(),
            points=(0, 100_000, 500_000, 1_000_000),
            chunk=100_000,
            streams_per_chunk=10_000,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            points=(0, 20_000, 40_000),
            chunk=10_000,
            streams_per_chunk=1_000,
            repetitions=2,
            single_streams=5,
            single_rounds=2,
            batches=3,
            old_reads=10,
        )


async def timed(latencies: list[float], work: Awaitable[Any]) -> Any:
    started = time.perf_counter()
    result = await work
    latencies.append(time.perf_counter() - started)
    return result


async def workload(
    system: Any, label: str, size: int, sizes: Sizes, rng: random.Random, out: Latencies
) -> None:
    """One repetition of every operation by one system, latencies into `out`."""
    tag = f"{label}{size}-{uuid.uuid4().hex[:6]}"
    singles = [f"Account-g{tag}s{i}" for i in range(sizes.single_streams)]
    for version in range(sizes.single_rounds):
        for i, stream in enumerate(singles):
            await timed(out["single"], system.append_one(stream, version * 100 + i, version))
    batches = [f"Account-g{tag}b{i}" for i in range(sizes.batches)]
    for i, stream in enumerate(batches):
        await timed(out["batch100"], system.append_batch(stream, i * 100))
    for stream in batches:
        assert await timed(out["read_new"], system.read(stream)) == 100
    if size:
        chunks = size // sizes.chunk
        per_stream = sizes.chunk // sizes.streams_per_chunk
        for _ in range(sizes.old_reads):
            stream = f"Account-p{rng.randrange(chunks)}x{rng.randrange(sizes.streams_per_chunk)}"
            assert await timed(out["read_old"], system.read(stream)) == per_stream


def rotate(names: list[str], rep: int) -> list[str]:
    k = rep % len(names)
    return names[k:] + names[:k]


def ratios(points: dict[str, Any]) -> dict[str, Any]:
    """kit / raw and raw / floor median latency at each size; each curve's
    median at each size over its median on the empty table (or the first
    size it has), and over its empty twin of the same rounds."""
    out: dict[str, Any] = {
        "kit_vs_raw": {},
        "raw_vs_floor": {},
        "growth": {},
        "growth_same_run": {},
    }
    # Same run: each curve at a size over its empty twin measured in the same
    # rounds (kit_empty, raw_empty), where the benchmark has them.
    for size, systems in points.items():
        for name in ("kit", "raw"):
            twin = systems.get(f"{name}_empty")
            if twin is None:
                continue
            for op, summary in systems[name].items():
                if op in twin:
                    out["growth_same_run"].setdefault(f"{name}.{op}", {})[size] = round(
                        summary["median_ms"] / twin[op]["median_ms"], 3
                    )
    for size, systems in points.items():
        for pair, (a, b) in (("kit_vs_raw", ("kit", "raw")), ("raw_vs_floor", ("raw", "floor"))):
            if a not in systems or b not in systems:
                continue
            out[pair][size] = {
                op: round(systems[a][op]["median_ms"] / systems[b][op]["median_ms"], 3)
                for op in systems[a]
                if op in systems[b]
            }
    first = {}
    for size, systems in points.items():
        for name, ops in systems.items():
            if name.endswith("_empty"):
                continue
            for op, summary in ops.items():
                key = f"{name}.{op}"
                first.setdefault(key, summary["median_ms"])
                out["growth"].setdefault(key, {})[size] = round(
                    summary["median_ms"] / first[key], 3
                )
    return out

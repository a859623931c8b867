"""The second peer: eventsource-py on PostgreSQL, in a Python >= 3.13 venv of its own.

eventsource-py needs Python 3.13 or later while the kit's venv runs 3.11, so
peers_bench.py runs this file with another interpreter (``--eventsource-python``,
default ``.venv-peer313/bin/python``; see benchmarks/README.md), once per
measurement. It imports nothing from the kit or the other benchmark modules.

Usage: python _pg_peer_eventsource.py SPEC_JSON, with ``{"dsn", "schema",
"scenario", ...}``; prints ``{"seconds": ...}``. Scenarios, the same
workloads as the other systems of postgres_bench.py (_pg_common's plans: the
same stream layout, payload and counts): ``single``, ``batch100``,
``concurrent``, ``seed`` (untimed: writes the read scenario's events) and
``read``. It is used as its documentation shows: `PostgreSQLEventStore` on an
async SQLAlchemy engine (asyncpg), its own schema (``create_schema=True``),
`DomainEvent` subclasses, `append` with an exact `ExpectedVersion`, `read_all`.
Its engine's pool holds one connection per writer.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from eventsource import DomainEvent, ExpectedVersion, PostgreSQLEventStore, register_event
from eventsource.domain.stream_id import StreamId
from sqlalchemy.ext.asyncio import create_async_engine


@register_event
class Deposited(DomainEvent):
    amount: int
    currency: str
    reference: str


CATEGORY = "Account"


def _stream(prefix: str, n: int) -> StreamId:
    # The same streams as _pg_common.stream_name: one UUID per (prefix, n).
    return StreamId(uuid.uuid5(uuid.NAMESPACE_URL, f"{prefix}{n}"), CATEGORY)


def _event(stream: StreamId, n: int, version: int) -> Deposited:
    correlation = uuid.UUID(int=n + 1)
    return Deposited(
        aggregate_id=stream.aggregate_id,
        aggregate_type=CATEGORY,
        aggregate_version=version,
        amount=100 + n % 997,
        currency="EUR",
        reference=f"invoice-{n:08d}",
        correlation_id=correlation,
        causation_id=correlation,
    )


def _engine(spec: dict[str, Any], pool: int) -> Any:
    url = spec["dsn"].replace("postgresql://", "postgresql+asyncpg://", 1)
    return create_async_engine(
        url,
        pool_size=pool,
        max_overflow=0,
        connect_args={"server_settings": {"search_path": spec["schema"]}},
    )


async def _warm_up(store: PostgreSQLEventStore, connections: int) -> None:
    streams = [_stream(f"warm-{uuid.uuid4()}", 0) for _ in range(connections)]
    await asyncio.gather(
        *(store.append(s, [_event(s, 0, 1)], ExpectedVersion.exact(0)) for s in streams)
    )


async def run(spec: dict[str, Any]) -> float:
    scenario = spec["scenario"]
    pool = spec.get("writers", 1) + 1 if scenario == "concurrent" else 2
    engine = _engine(spec, pool)
    store = PostgreSQLEventStore(engine, create_schema=True, owns_engine=True)
    try:
        if scenario not in ("seed", "read"):  # the read counts every stored event
            await _warm_up(store, pool - 1 if scenario == "concurrent" else 1)
        if scenario == "single":
            count, streams = spec["count"], spec["streams"]
            work = []
            for i in range(count):
                s = _stream("s", i % streams)
                version = i // streams + 1
                work.append((s, [_event(s, i, version)], ExpectedVersion.exact(version - 1)))
            started = time.perf_counter()
            for s, events, expected in work:
                await store.append(s, events, expected)
            return time.perf_counter() - started
        if scenario in ("batch100", "seed"):
            batches, size = spec["batches"], spec["size"]
            work = []
            for b in range(batches):
                s = _stream("b" if scenario == "batch100" else "r", b)
                work.append((s, [_event(s, b * size + v, v) for v in range(1, size + 1)]))
            started = time.perf_counter()
            for s, events in work:
                await store.append(s, events, ExpectedVersion.exact(0))
            return time.perf_counter() - started
        if scenario == "concurrent":
            writers, per_writer = spec["writers"], spec["per_writer"]
            plans = []
            for w in range(writers):
                s = _stream(f"w{w:02d}-", 0)
                plans.append(
                    [
                        (s, [_event(s, w * per_writer + v, v)], ExpectedVersion.exact(v - 1))
                        for v in range(1, per_writer + 1)
                    ]
                )

            async def write(plan: list[Any]) -> None:
                for s, events, expected in plan:
                    await store.append(s, events, expected)

            started = time.perf_counter()
            await asyncio.gather(*(write(p) for p in plans))
            return time.perf_counter() - started
        if scenario == "read":
            started = time.perf_counter()
            count = 0
            async for _ in store.read_all():
                count += 1
            elapsed = time.perf_counter() - started
            assert count == spec["expected"], (count, spec["expected"])
            return elapsed
        raise ValueError(f"unknown scenario {scenario!r}")
    finally:
        await store.close()


if __name__ == "__main__":
    print(json.dumps({"seconds": asyncio.run(run(json.loads(sys.argv[1])))}))

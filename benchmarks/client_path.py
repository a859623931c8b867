"""What a one-event append costs on the client, layer by layer.

    .venv/bin/python benchmarks/client_path.py [--quick] [--output results/client_path.json]

The data behind the kept connections (`_postgres_lane`) and the notes on the
client side in results/postgres.md. Sequential one-event appends with an
exact expected version (2,000 per repetition, round-robin over 200 streams),
all sending the statement the store sends (``Queries.append_next`` /
``append_new``), through:

- ``connection``: a plain asyncpg connection (the floor for this statement);
- ``pool``: an asyncpg pool, acquire and release around each statement (a
  no-op ``reset``, so no second round trip: what the store did before its
  lane);
- ``lane``: the store's `Lane` on such a pool (connections kept between
  statements);
- ``store``: ``PostgresEventStore.append_events`` with its defaults
  (validation, encoding, group commit's lone path, the NOTIFY riding, the
  lane);
- ``store_no_io``: the same call with the lane's statement replaced by one
  that returns at once: the kit's own Python, measured in a hot loop;
- ``store_notify_5ms``, ``store_notify_off``, ``store_no_group``: the
  ``store`` path with ``notify_delay=0.005``, with ``notify="off"``, and with
  ``group_commit=False``: what the coalesced NOTIFY and group commit's lone
  path cost a sequential writer.

Repetitions are interleaved, the paths' order rotated (5; 2 with
``--quick``); the medians of wall time and of this process's CPU time per
append are printed, and written as JSON with ``--output``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import pathlib
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import _pg_common as common
import asyncpg
import orjson
import structlog

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._queries import Queries

_DATA = {"amount": 100, "currency": "EUR", "note": "x" * 40}
_METADATA = {"correlation_id": "5f0c1a52-6a0e-4a39-9d1b-3f5f1d0c2a77"}
_STREAMS = 200

# The `store` path with one option changed each.
_VARIANTS: dict[str, dict[str, Any]] = {
    "store_notify_5ms": {"notify_delay": 0.005},
    "store_notify_off": {"notify": "off"},
    "store_no_group": {"group_commit": False},
}

Append = Callable[[str, int], Awaitable[Any]]


async def _keep_session(connection: asyncpg.Connection) -> None:
    """A pool reset that sends nothing."""


class _NoIO:
    """Stands in for the lane: every statement 'succeeds' at once."""

    async def fetchrow(self, query: str, *args: Any) -> Any:
        return (1, 1)

    async def close(self) -> None:
        pass


async def _measure(append: Append, appends: int) -> tuple[float, float]:
    streams = [f"Path{n}-{uuid.uuid4().hex[:8]}" for n in range(_STREAMS)]
    for n in range(_STREAMS):  # create the streams (and prepare), untimed
        await append(streams[n], 0)
    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(appends):
        await append(streams[n % _STREAMS], 1 + n // _STREAMS)
    return (
        (time.perf_counter() - wall) / appends * 1e6,
        (time.process_time() - cpu) / appends * 1e6,
    )


async def _one_round(appends: int, shift: int) -> dict[str, tuple[float, float]]:
    async with common.fresh_schema("path", create=False) as schema:
        store = await PostgresEventStore.open(common.dsn(), schema=schema, min_size=2, max_size=2)
        variants = {
            name: await PostgresEventStore.open(
                common.dsn(), schema=schema, min_size=2, max_size=2, migrate=False, **options
            )
            for name, options in _VARIANTS.items()
        }
        queries = Queries.for_schema(schema)
        connection = await asyncpg.connect(common.dsn())
        pool = await asyncpg.create_pool(common.dsn(), min_size=2, max_size=2, reset=_keep_session)
        lane = Lane(pool, quiet_reset=None)
        no_io = await PostgresEventStore.open(
            common.dsn(), schema=schema, min_size=2, max_size=2, migrate=False
        )
        await no_io._lane.close()
        no_io._lane = _NoIO()  # type: ignore[assignment]

        def args(stream: str, expected: int) -> tuple[Any, ...]:
            return (
                stream,
                expected,
                uuid.uuid4(),
                "Deposited",
                orjson.dumps(_DATA).decode(),
                orjson.dumps(_METADATA).decode(),
                None,
            )

        def statement(expected: int) -> str:
            return queries.append_next if expected else queries.append_new

        async def on_connection(stream: str, expected: int) -> Any:
            return await connection.fetchrow(statement(expected), *args(stream, expected))

        async def on_pool(stream: str, expected: int) -> Any:
            async with pool.acquire() as pooled:
                return await pooled.fetchrow(statement(expected), *args(stream, expected))

        async def on_lane(stream: str, expected: int) -> Any:
            return await lane.fetchrow(statement(expected), *args(stream, expected))

        def through(target: PostgresEventStore) -> Append:
            async def append(stream: str, expected: int) -> Any:
                events = [NewEvent("Deposited", _DATA, metadata=_METADATA)]
                return await target.append_events(stream, events, expected_version=expected)

            return append

        paths: dict[str, Append] = {
            "connection": on_connection,
            "pool": on_pool,
            "lane": on_lane,
            "store": through(store),
            "store_no_io": through(no_io),
            **{name: through(variant) for name, variant in variants.items()},
        }
        names = list(paths)
        names = names[shift % len(names) :] + names[: shift % len(names)]
        try:
            return {name: await _measure(paths[name], appends) for name in names}
        finally:
            await lane.close()
            await pool.close()
            await connection.close()
            await no_io.close()
            for variant in variants.values():
                await variant.close()
            await store.close()


async def main(quick: bool) -> dict[str, dict[str, float]]:
    repetitions, appends = (2, 300) if quick else (5, 2000)
    rounds = [await _one_round(appends, shift) for shift in range(repetitions)]
    medians = {
        name: {
            "wall_us_per_append": round(statistics.median(r[name][0] for r in rounds), 1),
            "client_cpu_us_per_append": round(statistics.median(r[name][1] for r in rounds), 1),
        }
        for name in ("connection", "pool", "lane", "store", "store_no_io", *_VARIANTS)
    }
    print(f"{'path':14s} {'wall µs':>9s} {'client CPU µs':>14s}")
    for name, m in medians.items():
        print(f"{name:14s} {m['wall_us_per_append']:9.1f} {m['client_cpu_us_per_append']:14.1f}")
    return medians


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few appends, 2 repetitions")
    parser.add_argument("--output", type=pathlib.Path, help="also write the medians as JSON")
    arguments = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    load_before = os.getloadavg()[0]
    found = asyncio.run(main(arguments.quick))
    if arguments.output is not None:
        common.write_medians(
            arguments.output,
            benchmark="client_path",
            quick=arguments.quick,
            unit="medians over interleaved repetitions of sequential one-event appends",
            medians=found,
            load_before=load_before,
        )

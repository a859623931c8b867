"""The PostgreSQL scenarios: which systems run each one, and the interleaved loop.

postgres_bench.py runs every system; compare.py's worker runs only ``raw``
and ``kit``, against whichever tree's package it imports. Every system of a
scenario writes the same logical events (see _pg_common); each write
measurement gets a fresh schema, dropped afterwards. Repetitions are
interleaved (repetition 1 of every system, then 2, ...) with the systems'
order rotated, so drift from other load on the machine hits all of them
alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import _pg_common as common
import _pg_kit as kit
import _pg_raw as raw
import asyncpg

SCENARIOS = ("single", "batch100", "concurrent16", "read")

SYSTEMS: dict[str, dict[str, str]] = {
    "single": {
        "raw": "one INSERT per transaction into the kit-shaped table (the reference)",
        "floor": "the same INSERT into the bare table",
        "kit": "append_events(stream, [event], expected_version=exact)",
        "kit_notify_off": "the kit with notify='off'",
        "peer": "pyeventsourcing: app.save(aggregate) after one command",
    },
    "batch100": {
        "raw": "100 rows in one transaction by executemany, kit-shaped table (the reference)",
        "raw_copy": "100 rows in one transaction by COPY, kit-shaped table",
        "floor": "executemany into the bare table",
        "kit": "one append_events of 100 events, expected_version=0",
        "peer": "pyeventsourcing: a new aggregate with 100 events, one save",
    },
    "concurrent16": {
        "raw": "16 connections, one INSERT per transaction, kit-shaped table (the reference)",
        "floor": "the same into the bare table",
        "raw_table_lock": "the reference with LOCK TABLE ... IN EXCLUSIVE MODE first",
        "kit": "16 tasks on one store, group commit on (the default)",
        "kit_no_group_commit": "the kit with group_commit=False",
        "peer": "pyeventsourcing: 16 threads on one application",
    },
    "read": {
        "raw": "one SELECT in global_position order + orjson decode, kit-shaped table "
        "(the reference)",
        "raw_paged": "the same in keyset pages of 500",
        "floor": "the one SELECT on the bare table",
        "kit": "[e async for e in store.read_all()]",
        "kit_batch_5000": "read_all(batch_size=5000)",
        "peer": "pyeventsourcing: select_notifications pages of 500 + decode",
    },
}
"""Scenario -> system -> what it runs; ``raw`` is every scenario's reference."""

Run = Callable[[], Awaitable[common.Timing]]
"""One measurement: sets up in a fresh schema, returns what the timed part cost."""


def _raw(table: str, work: Callable[[str], Awaitable[common.Timing]]) -> Run:
    async def run() -> common.Timing:
        async with common.fresh_schema(table) as schema:
            await raw.install(schema, table)
            return await work(schema)

    return run


def _kit(work: Callable[..., Awaitable[common.Timing]], *, pool: int, **options: Any) -> Run:
    async def run() -> common.Timing:
        async with (
            common.fresh_schema("kit", create=False) as schema,
            kit.store_in(schema, pool_size=pool, **options) as store,
        ):
            return await work(store, schema)

    return run


def _peer(work_name: str, plan: Any, *, pool: int) -> Run:
    async def run() -> common.Timing:
        import _pg_peer as peer  # pyeventsourcing: only where its rows run

        async with common.fresh_schema("peer") as schema:
            # Its API is synchronous: keep it off the event loop's thread.
            app = await asyncio.to_thread(peer.open_app, schema, pool_size=pool)
            try:
                return await asyncio.to_thread(getattr(peer, work_name), app, plan)
            finally:
                await asyncio.to_thread(app.close)

    return run


def write_runs(sizes: common.Sizes) -> dict[str, dict[str, tuple[int, Run]]]:
    """Scenario -> system -> (events written, measurement), for the write scenarios."""
    single = common.single_event_plan(sizes.single_appends, sizes.single_streams)
    batches = common.batch_plan(sizes.batches, sizes.batch_size)
    writers = common.writer_plans(common.WRITERS, sizes.events_per_writer)
    n_single = len(single)
    n_batch = sizes.batches * sizes.batch_size
    n_conc = common.WRITERS * sizes.events_per_writer
    # One connection per writer, plus one for the kit's background NOTIFY
    # (notify="coalesced" borrows a pool connection after commits).
    pool = common.WRITERS
    return {
        "single": {
            "raw": (n_single, _raw("raw", lambda s: raw.single(s, single))),
            "floor": (n_single, _raw("floor", lambda s: raw.single(s, single))),
            "kit": (n_single, _kit(lambda st, s: kit.single(st, s, single), pool=2)),
            "kit_notify_off": (
                n_single,
                _kit(lambda st, s: kit.single(st, s, single), pool=2, notify="off"),
            ),
            "peer": (n_single, _peer("single", single, pool=2)),
        },
        "batch100": {
            "raw": (n_batch, _raw("raw", lambda s: raw.batch_executemany(s, batches))),
            "raw_copy": (n_batch, _raw("raw", lambda s: raw.batch_copy(s, batches))),
            "floor": (n_batch, _raw("floor", lambda s: raw.batch_executemany(s, batches))),
            "kit": (n_batch, _kit(lambda st, s: kit.batches(st, s, batches), pool=2)),
            "peer": (n_batch, _peer("batches", batches, pool=2)),
        },
        "concurrent16": {
            "raw": (n_conc, _raw("raw", lambda s: raw.concurrent(s, writers))),
            "floor": (n_conc, _raw("floor", lambda s: raw.concurrent(s, writers))),
            "raw_table_lock": (
                n_conc,
                _raw("raw", lambda s: raw.concurrent(s, writers, table_lock=True)),
            ),
            # The default: appends queued at the same moment share one transaction.
            "kit": (n_conc, _kit(lambda st, s: kit.concurrent(st, s, writers), pool=pool + 1)),
            # Every append its own transaction: what group commit saves.
            "kit_no_group_commit": (
                n_conc,
                _kit(
                    lambda st, s: kit.concurrent(st, s, writers),
                    pool=pool + 1,
                    group_commit=False,
                ),
            ),
            "peer": (n_conc, _peer("concurrent", writers, pool=pool)),
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


async def seed_read_runs(
    stack: AsyncExitStack, sizes: common.Sizes, wanted: Callable[[str], bool]
) -> dict[str, Run]:
    """Seed one schema per wanted kind of system with the same events; return
    the read measurements on them (cleaned up when `stack` closes)."""
    plan = common.batch_plan(sizes.read_events // 100, 100, prefix="r")
    n = sizes.read_events
    runs: dict[str, Run] = {}
    for table, names in (("raw", ("raw", "raw_paged")), ("floor", ("floor",))):
        if any(map(wanted, names)):
            schema = await stack.enter_async_context(common.fresh_schema(table))
            await raw.install(schema, table)
            await raw.seed(schema, plan)
            await vacuum_schema(schema)
            runs[names[0]] = partial(raw.read, schema, n)
            if table == "raw":
                runs["raw_paged"] = partial(raw.read_paged, schema, n)
    if wanted("kit") or wanted("kit_batch_5000"):
        schema = await stack.enter_async_context(common.fresh_schema("kit", create=False))
        store = await stack.enter_async_context(kit.store_in(schema, pool_size=2))
        await kit.seed(store, plan)
        await vacuum_schema(schema)
        runs["kit"] = partial(kit.read, store, schema, n)
        runs["kit_batch_5000"] = partial(kit.read, store, schema, n, batch_size=5000)
    if wanted("peer"):
        import _pg_peer as peer  # pyeventsourcing: only where its rows run

        schema = await stack.enter_async_context(common.fresh_schema("peer"))
        app = await asyncio.to_thread(peer.open_app, schema, pool_size=2)
        stack.push_async_callback(asyncio.to_thread, app.close)
        await asyncio.to_thread(peer.seed, app, plan)
        await vacuum_schema(schema)
        runs["peer"] = partial(asyncio.to_thread, peer.read, app, n)
    return {name: run for name, run in runs.items() if wanted(name)}


def rotate(names: list[str], rep: int) -> list[str]:
    k = rep % len(names)
    return names[k:] + names[:k]


async def measure(
    sizes: common.Sizes,
    *,
    scenarios: Collection[str] = SCENARIOS,
    systems: Collection[str] | None = None,
    progress: Callable[[str], None] = print,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Scenario -> system -> summary (`common.summarize`) of this run.

    `systems` keeps only those names (every system when None).
    """

    def wanted(name: str) -> bool:
        return systems is None or name in systems

    timings: dict[str, dict[str, tuple[int, list[common.Timing]]]] = {}
    for scenario, candidates in write_runs(sizes).items():
        if scenario not in scenarios:
            continue
        chosen = {name: run for name, run in candidates.items() if wanted(name)}
        times: dict[str, list[common.Timing]] = {name: [] for name in chosen}
        for rep in range(sizes.repetitions):
            for name in rotate(list(chosen), rep):
                times[name].append(await chosen[name][1]())
            progress(f"  {scenario}: repetition {rep + 1}/{sizes.repetitions} done")
        timings[scenario] = {name: (chosen[name][0], times[name]) for name in chosen}
    if "read" in scenarios:
        async with AsyncExitStack() as stack:
            runs = await seed_read_runs(stack, sizes, wanted)
            for run in runs.values():  # warm the caches and statement caches alike
                await run()
            times = {name: [] for name in runs}
            for rep in range(sizes.repetitions):
                for name in rotate(list(runs), rep):
                    times[name].append(await runs[name]())
        timings["read"] = {name: (sizes.read_events, t) for name, t in times.items()}
        progress("  read: done")
    return {
        scenario: {name: common.summarize(n, t) for name, (n, t) in by_system.items()}
        for scenario, by_system in timings.items()
    }

"""SQLite: the kit's store against pyeventsourcing's sqlite module, on a file, in one run.

Scenarios, postgres_bench.py's plans and payloads (_pg_common):
``sqlite_single`` (one-event appends round-robin over the plan's streams,
exact expected versions), ``sqlite_batch100`` (new streams of 100 events,
one append each) and ``sqlite_read`` (every event read from the start and
decoded). Systems:

- ``kit``: `SQLiteEventStore.open(path)` with its defaults (WAL,
  ``synchronous=NORMAL``: a commit survives a crash of the process, not
  necessarily a power loss); `append_events` / `read_all`, as _pg_kit.py.
- ``kit_sync_full``: the same with ``synchronous="FULL"``, the durability
  pyeventsourcing's SQLite runs with.
- ``peer``: pyeventsourcing 9.x as shipped (``PERSISTENCE_MODULE=
  eventsourcing.sqlite``, ``SQLITE_DBNAME``: WAL, SQLite's default
  ``synchronous`` FULL, its default pool), the workloads of _pg_peer.py
  (``app.save`` after a command; ``select_notifications`` pages + decode),
  in a thread of its own.

Every write measurement gets a new file in a temporary directory; the read
scenario seeds one file per system first. Repetitions are interleaved and
rotated as in _pg_scenarios. CPU is this process's (SQLite runs in it).
"""

from __future__ import annotations

import asyncio
import pathlib
import tempfile
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from typing import Any

import _pg_common as common
import _pg_scenarios as scenarios
from _pg_common import Event, Stopwatch, Timing

from eventsourcing_kit import NewEvent, SQLiteEventStore

SCENARIOS = ("sqlite_single", "sqlite_batch100", "sqlite_read")
SYSTEMS: dict[str, str] = {
    "kit": "SQLiteEventStore.open(path), its defaults (WAL, synchronous=NORMAL)",
    "kit_sync_full": "the kit with synchronous='FULL' (pyeventsourcing's durability)",
    "peer": "pyeventsourcing 9.x, eventsourcing.sqlite as shipped (WAL, synchronous FULL)",
}
Run = Callable[[], Awaitable[Timing]]


def _new(e: Event) -> NewEvent:
    return NewEvent(event_type=e.event_type, data=e.data, metadata=e.metadata, event_id=e.event_id)


async def _warm_up(store: SQLiteEventStore) -> None:
    for e in common.warmup_plan(2):
        await store.append_events(e.stream_id, [_new(e)], expected_version=0)


async def _kit_single(store: SQLiteEventStore, plan: Sequence[Event]) -> Timing:
    appends = [(e.stream_id, [_new(e)], e.version - 1) for e in plan]
    await _warm_up(store)
    watch = Stopwatch()
    for stream_id, events, expected in appends:
        await store.append_events(stream_id, events, expected_version=expected)
    return watch.stop()


async def _kit_batches(store: SQLiteEventStore, plan: Sequence[Sequence[Event]]) -> Timing:
    appends = [(batch[0].stream_id, [_new(e) for e in batch]) for batch in plan]
    await _warm_up(store)
    watch = Stopwatch()
    for stream_id, events in appends:
        await store.append_events(stream_id, events, expected_version=0)
    return watch.stop()


async def _kit_read(store: SQLiteEventStore, expected: int) -> Timing:
    watch = Stopwatch()
    decoded = [e async for e in store.read_all()]
    elapsed = watch.stop()
    assert len(decoded) == expected, (len(decoded), expected)
    return elapsed


def _open_peer(path: pathlib.Path) -> Any:
    import _pg_peer as peer  # pyeventsourcing: only where its rows run

    return peer.Bank(env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)})


class _Files:
    """New database files in one temporary directory, removed at the end."""

    def __init__(self, directory: str) -> None:
        self._directory = pathlib.Path(directory)

    def new(self, label: str) -> pathlib.Path:
        return self._directory / f"{label}-{uuid.uuid4().hex[:8]}.db"


def _kit_run(
    files: _Files, synchronous: str, work: Callable[[SQLiteEventStore], Awaitable[Timing]]
) -> Run:
    async def run() -> Timing:
        store = await SQLiteEventStore.open(files.new("kit"), synchronous=synchronous)
        try:
            return await work(store)
        finally:
            await store.close()

    return run


def _peer_run(files: _Files, work_name: str, plan: Any) -> Run:
    async def run() -> Timing:
        import _pg_peer as peer

        app = await asyncio.to_thread(_open_peer, files.new("peer"))
        try:
            return await asyncio.to_thread(getattr(peer, work_name), app, plan)
        finally:
            await asyncio.to_thread(app.close)

    return run


def _write_runs(files: _Files, sizes: common.Sizes) -> dict[str, dict[str, tuple[int, Run]]]:
    single = common.single_event_plan(sizes.single_appends, sizes.single_streams)
    batches = common.batch_plan(sizes.batches, sizes.batch_size)
    n_batch = sizes.batches * sizes.batch_size
    runs: dict[str, dict[str, tuple[int, Run]]] = {"sqlite_single": {}, "sqlite_batch100": {}}
    for name, mode in (("kit", "NORMAL"), ("kit_sync_full", "FULL")):
        runs["sqlite_single"][name] = (
            len(single),
            _kit_run(files, mode, lambda st: _kit_single(st, single)),
        )
        runs["sqlite_batch100"][name] = (
            n_batch,
            _kit_run(files, mode, lambda st: _kit_batches(st, batches)),
        )
    runs["sqlite_single"]["peer"] = (len(single), _peer_run(files, "single", single))
    runs["sqlite_batch100"]["peer"] = (n_batch, _peer_run(files, "batches", batches))
    return runs


async def _read_runs(stack: AsyncExitStack, files: _Files, sizes: common.Sizes) -> dict[str, Run]:
    """One seeded file per system, open until `stack` closes; their read measurements."""
    import _pg_peer as peer

    plan = common.batch_plan(sizes.read_events // 100, 100, prefix="r")
    n = sizes.read_events
    store = await SQLiteEventStore.open(files.new("kit-read"))
    stack.push_async_callback(store.close)
    for batch in plan:
        await store.append_events(batch[0].stream_id, [_new(e) for e in batch], expected_version=0)
    app = await asyncio.to_thread(_open_peer, files.new("peer-read"))
    stack.push_async_callback(asyncio.to_thread, app.close)
    await asyncio.to_thread(peer.seed, app, plan)
    return {
        "kit": lambda: _kit_read(store, n),
        "peer": lambda: asyncio.to_thread(peer.read, app, n),
    }


async def measure(
    sizes: common.Sizes, *, progress: Callable[[str], None] = print
) -> dict[str, dict[str, dict[str, Any]]]:
    """Scenario -> system -> summary (`common.summarize`) of this run."""
    timings: dict[str, dict[str, tuple[int, list[Timing]]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-peers-") as directory:
        files = _Files(directory)
        for scenario, runs in _write_runs(files, sizes).items():
            times: dict[str, list[Timing]] = {name: [] for name in runs}
            for rep in range(sizes.repetitions):
                for name in scenarios.rotate(list(runs), rep):
                    times[name].append(await runs[name][1]())
            timings[scenario] = {name: (runs[name][0], times[name]) for name in runs}
            progress(f"  {scenario}: done")
        async with AsyncExitStack() as stack:
            reads = await _read_runs(stack, files, sizes)
            for run in reads.values():  # warm the page cache alike
                await run()
            read_times: dict[str, list[Timing]] = {name: [] for name in reads}
            for rep in range(sizes.repetitions):
                for name in scenarios.rotate(list(reads), rep):
                    read_times[name].append(await reads[name]())
            timings["sqlite_read"] = {
                name: (sizes.read_events, t) for name, t in read_times.items()
            }
        progress("  sqlite_read: done")
    return {
        scenario: {name: common.summarize(n, t) for name, (n, t) in by.items()}
        for scenario, by in timings.items()
    }

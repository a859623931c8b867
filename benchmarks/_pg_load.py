"""The load scenarios: one aggregate loaded through each library's repository.

``load``: a `LoadSizes.events`-event aggregate (10,000 in full) loaded from
its whole stream, no snapshot read. ``load_snapshots``: the same aggregate
`LoadSizes.tail` events later, loaded from its latest snapshot (at
`LoadSizes.events`, every system snapshotting every SNAPSHOT_EVERY events
as its own repository does) plus the tail. Systems: ``raw`` (the reference,
_pg_load_raw.py), ``kit`` (_pg_load_kit.py), ``peer`` (pyeventsourcing,
_pg_load_peer.py) and ``eventsource`` (eventsource-py,
_pg_peer_eventsource_load.py in its own interpreter).

Each system's aggregate lives in a fresh schema of its own, seeded once
(untimed, then VACUUM ANALYZE) and dropped at the end. A measurement is one
untimed load (it warms the connection and checks the state) then `loads`
loads one after the other; repetitions are interleaved and rotated as in
_pg_scenarios. Reported per load: loads/s, and CPU per load.
"""

from __future__ import annotations

import asyncio
import pathlib
import uuid
from collections.abc import Callable, Collection
from contextlib import AsyncExitStack
from typing import Any, Protocol

import _pg_common as common
import _pg_kit as kit
import _pg_load_common as load
import _pg_load_kit as load_kit
import _pg_load_raw as load_raw
import _pg_scenarios as scenarios
from _eventsource_process import run_worker

HERE = pathlib.Path(__file__).parent
WORKER = HERE / "_pg_peer_eventsource_load.py"
SCENARIOS = ("load", "load_snapshots")
SYSTEMS: dict[str, dict[str, str]] = {
    "load": {
        "raw": "asyncpg: one SELECT of the stream's types and data + orjson + a fold of dicts "
        "(the reference)",
        "kit": "Repository(snapshot_every=None).load(id): typed attrs events",
        "peer": "pyeventsourcing: app.repository.get(id), no snapshotting",
        "eventsource": "eventsource-py: AggregateRepository(store, Account).load(id)",
    },
    "load_snapshots": {
        "raw": "the reference, after one SELECT of its snapshot row",
        "kit": "Repository(snapshot_every=100).load(id)",
        "peer": "pyeventsourcing: app.repository.get(id), snapshotting_intervals 100",
        "eventsource": "eventsource-py: AggregateRepository with PostgreSQLSnapshotStore, "
        "snapshot_threshold 100",
    },
}


class Loader(Protocol):
    async def append(self, events: list[load.AggregateEvent]) -> None: ...

    async def measure(self, loads: int, *, snapshots: bool) -> common.Timing: ...


class _Threaded:
    """pyeventsourcing's synchronous loader, run off the event loop's thread."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    async def append(self, events: list[load.AggregateEvent]) -> None:
        await asyncio.to_thread(self._loader.append, events)

    async def measure(self, loads: int, *, snapshots: bool) -> common.Timing:
        return await asyncio.to_thread(self._loader.measure, loads, snapshots=snapshots)


class _Eventsource:
    """eventsource-py's aggregate, written and loaded by its worker process."""

    def __init__(self, python: pathlib.Path, schema: str) -> None:
        self._python, self._schema = python, schema
        self._id = str(uuid.uuid4())
        self._version = 0
        self._balance = 0

    async def append(self, events: list[load.AggregateEvent]) -> None:
        spec = {
            "scenario": "append",
            "aggregate_id": self._id,
            "first": events[0].version,
            "count": len(events),
            "save_size": load.SAVE_SIZE,
            "every": load.SNAPSHOT_EVERY,
        }
        out = await run_worker(self._python, WORKER, self._schema, spec)
        self._version = events[-1].version
        self._balance += load.balance(events)
        assert out == {"balance": self._balance, "version": self._version}, out

    async def measure(self, loads: int, *, snapshots: bool) -> common.Timing:
        spec = {
            "scenario": "load",
            "aggregate_id": self._id,
            "version": self._version,
            "loads": loads,
            "snapshots": snapshots,
        }
        out = await run_worker(self._python, WORKER, self._schema, spec)
        return common.Timing(seconds=float(out["seconds"]), client_cpu=0.0, server_cpu=None)


async def _open(
    stack: AsyncExitStack, name: str, eventsource_python: pathlib.Path | None
) -> tuple[str, Loader]:
    """A fresh schema for system `name` and its loader, closed when `stack` closes."""
    if name == "raw":
        schema = await stack.enter_async_context(common.fresh_schema("raw"))
        raw_loader = load_raw.Loader(schema)
        stack.push_async_callback(raw_loader.close)
        await raw_loader.open()
        return schema, raw_loader
    if name == "kit":
        schema = await stack.enter_async_context(common.fresh_schema("kit", create=False))
        store = await stack.enter_async_context(kit.store_in(schema, pool_size=2))
        return schema, load_kit.Loader(store, schema)
    if name == "peer":
        import _pg_load_peer as load_peer  # pyeventsourcing: only where its rows run

        schema = await stack.enter_async_context(common.fresh_schema("peer"))
        peer_loader = await asyncio.to_thread(load_peer.Loader, schema)
        stack.push_async_callback(asyncio.to_thread, peer_loader.close)
        return schema, _Threaded(peer_loader)
    assert name == "eventsource" and eventsource_python is not None
    schema = await stack.enter_async_context(common.fresh_schema("es"))
    return schema, _Eventsource(eventsource_python, schema)


async def _interleaved(
    loaders: dict[str, Loader], repetitions: int, loads: int, *, snapshots: bool
) -> dict[str, list[common.Timing]]:
    times: dict[str, list[common.Timing]] = {name: [] for name in loaders}
    for rep in range(repetitions):
        for name in scenarios.rotate(list(loaders), rep):
            times[name].append(await loaders[name].measure(loads, snapshots=snapshots))
    return times


def _per_load(loads: int, timings: list[common.Timing]) -> dict[str, Any]:
    """`common.summarize`, its counts and CPU named per load."""
    summary = common.summarize(loads, timings)
    renamed = {"events": "loads"}
    renamed.update(
        {f"{side}_cpu_us_per_event": f"{side}_cpu_us_per_load" for side in ("client", "server")}
    )
    return {renamed.get(key, key): value for key, value in summary.items()}


async def measure(
    sizes: load.LoadSizes,
    *,
    repetitions: int,
    systems: Collection[str],
    eventsource_python: pathlib.Path | None,
    progress: Callable[[str], None] = print,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Scenario -> system -> per-load summary of this run (`_per_load`)."""
    head = load.aggregate_events(1, sizes.events)
    tail = load.aggregate_events(sizes.events + 1, sizes.tail)
    results: dict[str, dict[str, dict[str, Any]]] = {}
    async with AsyncExitStack() as stack:
        loaders: dict[str, Loader] = {}
        schemas = []
        for name in systems:
            schema, loaders[name] = await _open(stack, name, eventsource_python)
            schemas.append(schema)
        for events, scenario, loads in (
            (head, "load", sizes.loads),
            (tail, "load_snapshots", sizes.snapshot_loads),
        ):
            for loader in loaders.values():
                await loader.append(events)
            for schema in schemas:
                await scenarios.vacuum_schema(schema)
            progress(f"  {scenario}: seeded")
            times = await _interleaved(
                loaders, repetitions, loads, snapshots=scenario == "load_snapshots"
            )
            results[scenario] = {name: _per_load(loads, t) for name, t in times.items()}
            progress(f"  {scenario}: done")
    return results

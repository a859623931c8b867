"""Shared parts of the storm tests: their length, worker processes, and the exactly-once check.

`make test` runs each storm once, for STORM_S seconds (short: the suite's
time is budgeted); `make test-thorough` sets EVENTSOURCING_KIT_SOAK=1, and
each storm then lasts 20 seconds and runs five times in a row.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import TypeAlias, TypeVar
from uuid import uuid4

import asyncpg
import attrs
import structlog
from proxy import FaultProxy

from eventsourcing_kit import EventStore, NewEvent, Position
from eventsourcing_kit.errors import StoreError

__all__ = [
    "PARTITIONS",
    "RUNS",
    "STORM_S",
    "STORM_TIMEOUT_S",
    "Tally",
    "Workers",
    "caught_up",
    "group_checkpoints",
    "log_of",
    "pg_storm",
    "pg_writer",
    "phase",
    "read_log",
]

SOAK = os.environ.get("EVENTSOURCING_KIT_SOAK") == "1"
STORM_S = 20.0 if SOAK else 2.0
RUNS = 5 if SOAK else 1
PARTITIONS = 6
CATCH_UP_S = 60.0
STORM_TIMEOUT_S = STORM_S + CATCH_UP_S + 120  # the storm, the catch-up, and a loaded machine
WORKER = Path(__file__).with_name("storm_worker.py")

T = TypeVar("T")

Until: TypeAlias = float | asyncio.Event
"""When a storm or a writer stops: a loop time, or once an event is set."""

logger = structlog.get_logger(__name__)


def group_checkpoints() -> list[str]:
    """The checkpoint ids of the consumer group ``group``'s partitions."""
    return [f"group:{number}/{PARTITIONS}" for number in range(PARTITIONS)]


@attrs.frozen
class Tally:
    """What a read model holds, against a replay of the log."""

    read_model: str
    events: int
    rows: int
    duplicates: int
    missing: int
    unknown: int

    @classmethod
    def of(cls, read_model: str, events: Iterable[str], rows: Iterable[str]) -> Tally:
        logged, kept = Counter(events), Counter(rows)
        return cls(
            read_model=read_model,
            events=sum(logged.values()),
            rows=sum(kept.values()),
            duplicates=sum(n - 1 for n in kept.values() if n > 1),
            missing=sum(1 for event in logged if event not in kept),
            unknown=sum(1 for row in kept if row not in logged),
        )

    @property
    def exactly_once(self) -> bool:
        return self.duplicates == self.missing == self.unknown == 0


def log_of(backend: str, run: int, tallies: list[Tally], **facts: object) -> None:
    """One line per storm, for the soak's report (`-s` shows it)."""
    for tally in tallies:
        line = {"backend": backend, "run": run, **attrs.asdict(tally), **facts}
        print("storm-result", " ".join(f"{k}={v}" for k, v in line.items()), flush=True)
        logger.info("storm result", **line)


KILL_ALL = (
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
    "AND backend_type = 'client backend'"
)


async def pg_storm(dsn: str, proxy: FaultProxy, until: Until) -> int:
    """End connections, on the server or in the proxy by turns, until `until`; how many.

    `dsn` reaches the server itself (not through the proxy), so the storm's
    own connection is never ended.
    """
    ended = 0
    killer = await asyncpg.connect(dsn)
    try:
        while not _passed(until):
            await asyncio.sleep(random.uniform(0.05, 0.2))
            if random.random() < 0.5:
                ended += await killer.fetchval(KILL_ALL)
            else:
                ended += proxy.cut_all()
    finally:
        await killer.close()
    return ended


async def pg_writer(store: EventStore, number: int, until: Until) -> None:
    """Append to ``Account-{number}`` until `until`, each event sent again under its id."""
    while not _passed(until):
        event = NewEvent("Deposited", {"writer": number}, event_id=uuid4())
        while True:  # the same event id again after a failure: written once
            try:
                await store.append_events(f"Account-{number}", [event])
                break
            except StoreError:
                await asyncio.sleep(0.01)


def _passed(until: Until) -> bool:
    if isinstance(until, asyncio.Event):
        return until.is_set()
    return asyncio.get_running_loop().time() >= until


async def phase(name: str, work: Awaitable[T], seconds: float) -> T:
    """`work`, failing with the phase's name if it takes more than `seconds`."""
    try:
        return await asyncio.wait_for(work, seconds)
    except TimeoutError:
        raise AssertionError(f"{name} took more than {seconds} s") from None


async def read_log(store: EventStore) -> tuple[list[str], Position | None]:
    """The log's event ids and its head, read through the failures a storm leaves behind."""
    for _ in range(50):
        try:
            head = await store.head_position()
            return [str(event.event_id) async for event in store.read_all()], head
        except StoreError:
            await asyncio.sleep(0.1)
    raise AssertionError("the log could not be read after the storm")


async def caught_up(store: EventStore, names: list[str], head: Position | None) -> None:
    """Wait until every checkpoint of `names` is `head` (fail after CATCH_UP_S)."""

    stored: list[Position | None] = []

    async def poll() -> None:
        nonlocal stored
        while True:
            try:
                stored = [await store.load_checkpoint(name) for name in names]
            except StoreError:
                stored = []
            if stored and all(position == head for position in stored):
                return
            await asyncio.sleep(0.1)

    try:
        await asyncio.wait_for(poll(), CATCH_UP_S)
    except TimeoutError:
        found = dict(zip(names, stored, strict=False))
        raise AssertionError(f"not caught up with {head}: {found}") from None


class Workers:
    """Worker processes (storm_worker.py) of one test: started, SIGKILLed, started again."""

    def __init__(self, url: str, schema: str, logs: Path) -> None:
        self._url = url
        self._schema = schema
        self._logs = logs
        self.slots: list[list[str]] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.kills = 0

    def start(self, *args: object) -> int:
        """Start a worker with `args` (storm_worker.py's options) in a new slot; its number."""
        self.slots.append([str(arg) for arg in args])
        self.processes.append(self._spawn(len(self.slots) - 1))
        return len(self.slots) - 1

    def _spawn(self, slot: int) -> subprocess.Popen[bytes]:
        with (self._logs / f"worker-{slot}.log").open("ab") as log:
            return subprocess.Popen(
                [sys.executable, str(WORKER), self._url, self._schema, *self.slots[slot]],
                stdout=subprocess.PIPE,
                stderr=log,
            )

    async def ready(self, slot: int, line: str = "ready") -> None:
        """Wait for the worker in `slot` to print `line`."""
        stdout = self.processes[slot].stdout
        assert stdout is not None
        while True:
            said = await asyncio.wait_for(asyncio.to_thread(stdout.readline), CATCH_UP_S)
            assert said, f"worker {self.slots[slot]} ended before it said {line!r}"
            if said.decode().strip() == line:
                return

    def kill(self, slot: int) -> None:
        """SIGKILL the worker in `slot` (no restart)."""
        process = self.processes[slot]
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            self.kills += 1
        process.wait(30)
        if process.stdout is not None:
            process.stdout.close()

    def restart(self, slot: int) -> None:
        """SIGKILL the worker in `slot` and start its like in its place."""
        self.kill(slot)
        self.processes[slot] = self._spawn(slot)

    def kill_all(self) -> None:
        for slot in range(len(self.processes)):
            self.kill(slot)

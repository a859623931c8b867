"""SQLite writers in four processes, one file, and a transactional subscription following them.

Four worker processes (sqlite_writer_worker.py) of four writer tasks each
append to one SQLite file at once, while a transactional subscription of
this process writes a read model. Every acknowledged event is in the log;
the global order is gap-free (positions 1 to N: an append takes the file's
write lock before it picks its positions), each stream's versions are 1 to
n; and the read model holds every event once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from eventsourcing_kit import RecordedEvent, connect, subscribe
from eventsourcing_kit.subscriptions import HandlerContext, SubscriptionState

WORKER = Path(__file__).with_name("sqlite_writer_worker.py")
PROCESSES = 4
WRITERS = 4
APPENDS = 15
GUARD_S = 120.0


def run_writers(url: str) -> list[str]:
    """Run the writer processes to their end; the event ids they were told were written."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), url, str(n), str(WRITERS), str(APPENDS)],
            stdout=subprocess.PIPE,
        )
        for n in range(PROCESSES)
    ]
    acked: list[str] = []
    for process in processes:
        out, _ = process.communicate(timeout=GUARD_S)
        assert process.returncode == 0
        acked.extend(line.split()[1] for line in out.decode().splitlines())
    return acked


async def test_writers_in_four_processes_lose_nothing_leave_no_gap_and_feed_a_read_model_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shared.db"
    url = f"sqlite:///{path}"
    async with connect(url) as store:
        await asyncio.to_thread(_create_read_model, path)

        async def record(event: RecordedEvent, context: HandlerContext) -> None:
            context.connection.execute(
                "INSERT INTO seen (event_id) VALUES (?)", (str(event.event_id),)
            )

        subscription = subscribe(
            store, "projection", record, transactional=True, batch_size=50, poll_interval=0.05
        )
        async with subscription:
            acked = await asyncio.to_thread(run_writers, url)
            head = await store.head_position()

            async def caught_up() -> None:
                while not (  # noqa: ASYNC110 - plain reads of the subscription's state
                    subscription.state is SubscriptionState.LIVE and subscription.checkpoint == head
                ):
                    await asyncio.sleep(0.02)

            await asyncio.wait_for(caught_up(), GUARD_S)
        events = [event async for event in store.read_all()]
    rows = await asyncio.to_thread(_read_model_rows, path)
    ids = [str(event.event_id) for event in events]
    assert len(acked) == PROCESSES * WRITERS * sum(1 + n % 3 for n in range(APPENDS))
    assert Counter(ids) == Counter(acked)  # every acknowledged event, once; nothing else
    assert [int(event.position) for event in events] == list(range(1, len(events) + 1))
    versions: dict[str, list[int]] = {}
    for event in events:
        versions.setdefault(event.stream_id, []).append(event.version)
    assert all(found == list(range(1, len(found) + 1)) for found in versions.values())
    assert Counter(rows) == Counter(ids)


def _create_read_model(path: Path) -> None:
    with sqlite3.connect(path, isolation_level=None) as connection:
        connection.execute("CREATE TABLE seen (event_id TEXT NOT NULL)")


def _read_model_rows(path: Path) -> list[str]:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        return [row[0] for row in connection.execute("SELECT event_id FROM seen")]
    finally:
        connection.close()

"""Exactly-once with a transactional handler, proven by SIGKILL inside the transaction.

A worker process writes each event into a read-model table through the
checkpoint transaction's connection, and is killed with SIGKILL after
writing, before the commit. The database then rolls the batch back with its
checkpoint; the next run hands the batch over again, and every event ends up
in the read model exactly once. (A handler that wrote outside the
transaction would leave the killed batch's rows behind and count them twice.)
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from subscription_support import GUARD_S, Backend, ReadModel, append

from eventsourcing_kit import EventStore

WORKER = Path(__file__).with_name("exactly_once_worker.py")


async def run_worker(backend: Backend, read_model: ReadModel, hang_at: int) -> None:
    """Run the worker; with `hang_at`, SIGKILL it inside the transaction.

    A plain Popen waited on in a thread, not asyncio's subprocess support:
    asyncio's child watcher sometimes lost the exit status of a killed worker
    (reporting 255), which made the assertion on SIGKILL flaky.
    """
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [
            sys.executable,
            str(WORKER),
            backend.url,
            backend.options.get("schema", ""),
            read_model.name,
            str(hang_at),
        ],
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), GUARD_S)
        assert line.decode().strip() == ("in-transaction" if hang_at else "live")
        if hang_at:
            process.send_signal(signal.SIGKILL)
        returncode = await asyncio.to_thread(process.wait, GUARD_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
    if hang_at:
        assert returncode == -signal.SIGKILL


async def test_a_runner_killed_between_handler_and_commit_keeps_nothing_of_the_batch(
    backend: Backend, store: EventStore, read_model: ReadModel
) -> None:
    await append(store, "Account-1", 10)
    events = [event async for event in store.read_all()]
    await run_worker(backend, read_model, hang_at=7)  # batches of 4: dies inside 5..8
    assert sorted(await read_model.rows()) == sorted(str(e.event_id) for e in events[:4])
    assert await store.load_checkpoint("exactly-once") == events[3].position


async def test_after_the_kill_every_event_is_in_the_read_model_exactly_once(
    backend: Backend, store: EventStore, read_model: ReadModel
) -> None:
    await append(store, "Account-1", 10)
    await run_worker(backend, read_model, hang_at=7)
    await run_worker(backend, read_model, hang_at=0)
    events = [str(event.event_id) async for event in store.read_all()]
    assert Counter(await read_model.rows()) == Counter(events)

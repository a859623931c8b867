"""Writers in a process of their own, appending to one SQLite file with others.

Usage: python sqlite_writer_worker.py URL PROCESS WRITERS APPENDS

WRITERS tasks, each making APPENDS appends of one to three events to its
own stream ``Account-{PROCESS}.{task}``; after each acknowledged append it
prints ``acked EVENT_ID`` for each of its events. It exits when done.
"""

from __future__ import annotations

import asyncio
import sys

import structlog

from eventsourcing_kit import EventStore, NewEvent, connect


async def write(store: EventStore, stream_id: str, appends: int) -> None:
    for n in range(appends):
        events = [NewEvent("Deposited", {"n": n, "k": k}) for k in range(1 + n % 3)]
        await store.append_events(stream_id, events)
        print("\n".join(f"acked {event.event_id}" for event in events), flush=True)


async def main(url: str, process: int, writers: int, appends: int) -> None:
    async with connect(url) as store:
        await asyncio.gather(
            *(write(store, f"Account-{process}.{task}", appends) for task in range(writers))
        )


if __name__ == "__main__":
    # The worker is an application: its log lines go to stderr, stdout is the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    url, process, writers, appends = sys.argv[1:5]
    asyncio.run(main(url, int(process), int(writers), int(appends)))

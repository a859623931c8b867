"""A second OS process for tests/sqlite/test_sqlite_two_processes.py.

Usage: python _sqlite_writer.py DB_PATH NAME READY_DIR STREAMS APPENDS

Opens the store (both writers open the new file at once), waits until
every writer has (a file per writer in READY_DIR), then: tries to create
STREAMS streams "Race-<i>" with NO_STREAM, and appends APPENDS events to
"Shared-1", each with the version it just read as expected version, retrying
on ConcurrencyError. Prints its counts as JSON.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from pathlib import Path

import structlog

from eventsourcing_kit import ConcurrencyError, NewEvent, connect
from eventsourcing_kit.stores import ExpectedVersion

WRITERS = 2


def wait_for_each_other(ready_dir: Path, name: str) -> None:
    (ready_dir / name).touch()
    deadline = time.monotonic() + 60
    while len(list(ready_dir.iterdir())) < WRITERS:
        if time.monotonic() > deadline:
            raise SystemExit("the other writer never got ready")
        time.sleep(0.005)


async def main(path: str, name: str, ready_dir: Path, streams: int, appends: int) -> None:
    counts = {"created": 0, "create_conflicts": 0, "appended": 0, "append_conflicts": 0}
    versions: list[int] = []
    conflicts: list[tuple[int, int]] = []  # (expected, actual) of each ConcurrencyError
    # Both processes open the new file at once: the schema must be created once.
    async with connect(f"sqlite:///{path}", busy_timeout=30) as store:
        wait_for_each_other(ready_dir, name)
        for i in range(streams):
            event = NewEvent(event_type="Created", data={"by": name})
            try:
                await store.append_events(
                    f"Race-{i}", [event], expected_version=ExpectedVersion.NO_STREAM
                )
                counts["created"] += 1
            except ConcurrencyError:
                counts["create_conflicts"] += 1
        n = 0
        while n < appends:
            version = await store.stream_version("Shared-1")
            event = NewEvent(event_type="Added", data={"by": name, "n": n})
            try:
                result = await store.append_events("Shared-1", [event], expected_version=version)
            except ConcurrencyError as error:
                counts["append_conflicts"] += 1
                conflicts.append((version, error.actual))
                continue
            versions.append(result.version)
            counts["appended"] += 1
            n += 1
    print(json.dumps({**counts, "versions": versions, "conflicts": conflicts}))


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    db, who, ready, n_streams, n_appends = sys.argv[1:]
    asyncio.run(main(db, who, Path(ready), int(n_streams), int(n_appends)))

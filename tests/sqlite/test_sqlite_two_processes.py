"""Two OS processes writing one SQLite file keep every guarantee of the store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eventsourcing_kit import connect

WRITER = Path(__file__).with_name("_sqlite_writer.py")
STREAMS = 30
APPENDS = 100


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """Run two writer processes on one new file; return the file and their reports."""
    root = tmp_path_factory.mktemp("two_processes")
    ready = root / "ready"
    ready.mkdir()
    path = root / "events.db"
    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(path), name, str(ready), str(STREAMS), str(APPENDS)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("a", "b")
    ]
    reports = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        reports.append(json.loads(out.splitlines()[-1]))
    return path, reports


async def read_all(path: Path) -> list[Any]:
    async with connect(f"sqlite:///{path}") as store:
        return [event async for event in store.read_all()]


def test_each_new_stream_is_created_by_exactly_one_process(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, reports = outcome
    assert sum(r["created"] for r in reports) == STREAMS
    assert sum(r["create_conflicts"] for r in reports) == STREAMS


async def test_each_new_stream_holds_one_event(outcome: tuple[Path, list[dict[str, Any]]]) -> None:
    path, _ = outcome
    events = [e for e in await read_all(path) if e.stream_id.startswith("Race-")]
    assert sorted(e.stream_id for e in events) == sorted(f"Race-{i}" for i in range(STREAMS))
    assert {e.version for e in events} == {1}


async def test_every_successful_append_is_stored_once_at_contiguous_versions(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = outcome
    shared = [e for e in await read_all(path) if e.stream_id == "Shared-1"]
    assert [e.version for e in shared] == list(range(1, 2 * APPENDS + 1))
    assert len({e.event_id for e in shared}) == len(shared)
    for name in ("a", "b"):
        assert [e.data["n"] for e in shared if e.data["by"] == name] == list(range(APPENDS))


def test_appends_report_the_versions_they_were_stored_at(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    _, reports = outcome
    reported = sorted(v for r in reports for v in r["versions"])
    assert reported == list(range(1, 2 * APPENDS + 1))


async def test_every_stored_event_was_reported_as_appended_by_its_writer(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, reports = outcome
    events = await read_all(path)
    assert len(events) == sum(r["created"] + r["appended"] for r in reports)


def test_each_concurrency_error_reports_a_stream_that_really_moved(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    # A ConcurrencyError is raised exactly when the other writer appended between
    # this writer's read and its append: never spuriously, never with a stale actual.
    _, reports = outcome
    conflicts = [tuple(c) for r in reports for c in r["conflicts"]]
    assert all(expected < actual <= 2 * APPENDS for expected, actual in conflicts)


async def test_global_positions_are_the_commit_order_without_gaps(
    outcome: tuple[Path, list[dict[str, Any]]],
) -> None:
    path, _ = outcome
    events = await read_all(path)
    assert [e.global_position for e in events] == list(range(1, len(events) + 1))

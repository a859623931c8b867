"""SQLite migrations: `migrate(path)`, the command line, checksums, and upgrading an old file."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sysconfig
import uuid
from pathlib import Path

import pytest
from migration_support import (
    RELEASED,
    apply_as_before_checksums,
    checksum_of_an_edit,
    released_files,
)

from eventsourcing_kit import NewEvent
from eventsourcing_kit.cli import main
from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores.driver import load_migrations, sql_files
from eventsourcing_kit.stores.sqlite import SQLiteEventStore, migrate

ALL_FILES = [name for name, _ in sql_files("sqlite")]
NEW_FILES = [name for name in ALL_FILES if name not in RELEASED["sqlite"]]
# The installed console script, as users run it.
CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"


@pytest.fixture
def path(tmp_path: Path) -> Path:
    """A file no store has opened yet (the folder's `path` is a store's file)."""
    return tmp_path / "events.db"


def make_previous_release_file(path: Path) -> None:
    """A file as the previous release left it: 001-004 applied and recorded by
    name and time (no checksums then), and one stream of three events."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        apply_as_before_checksums(raw, released_files("sqlite"))
        for version in (1, 2, 3):
            raw.execute(
                "INSERT INTO events (stream_id, category, version, event_type, data, metadata, "
                "event_id, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    "Account-1",
                    "Account",
                    version,
                    "Deposited",
                    f'{{"amount": {version}}}',
                    "{}",
                    uuid.uuid4().bytes,
                    "2026-01-01T00:00:00.000000+00:00",
                ),
            )
    finally:
        raw.close()


def edit_after_release(path: Path, name: str) -> None:
    """Make the shipped store/sqlite/<name> look edited since the file at
    `path` applied it."""
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute(
            "UPDATE schema_migrations SET checksum = ? WHERE name = ?",
            (checksum_of_an_edit("sqlite", name), name),
        )
    finally:
        raw.close()


def applied_names(path: Path) -> list[str]:
    raw = sqlite3.connect(path)
    try:
        return [name for (name,) in raw.execute("SELECT name FROM schema_migrations ORDER BY 1")]
    finally:
        raw.close()


def recorded_checksums(path: Path) -> dict[str, str]:
    raw = sqlite3.connect(path)
    try:
        return dict(raw.execute("SELECT name, checksum FROM schema_migrations ORDER BY name"))
    finally:
        raw.close()


async def test_migrate_creates_a_missing_file_with_every_migration(path: Path) -> None:
    assert await migrate(path) == ALL_FILES
    assert applied_names(path) == ALL_FILES


async def test_migrate_applies_nothing_to_an_up_to_date_file(path: Path) -> None:
    await migrate(path)
    assert await migrate(path) == []


async def test_migrate_records_the_checksum_of_every_file(path: Path) -> None:
    await migrate(path)
    shipped = {migration.name: migration.checksum for migration in load_migrations("sqlite")}
    assert recorded_checksums(path) == shipped


async def test_a_file_changed_after_it_was_applied_fails_migrate(path: Path) -> None:
    await migrate(path)
    edit_after_release(path, "002_events.sql")
    with pytest.raises(MigrationError, match=r"store/sqlite/002_events\.sql changed after"):
        await migrate(path)


async def test_a_file_changed_after_it_was_applied_fails_opening_the_store(path: Path) -> None:
    await migrate(path)
    edit_after_release(path, "003_snapshots.sql")
    with pytest.raises(MigrationError, match=r"003_snapshots\.sql changed after it was applied"):
        await SQLiteEventStore.open(path)


async def test_a_previous_release_file_gets_only_the_new_migrations(path: Path) -> None:
    make_previous_release_file(path)
    assert NEW_FILES == ["005_schema_migrations_checksum.sql", "006_subscription_leases.sql"]
    assert await migrate(path) == NEW_FILES


async def test_a_previous_release_file_gets_the_released_checksums(path: Path) -> None:
    make_previous_release_file(path)
    await migrate(path)
    released = {name: recorded_checksums(path)[name] for name in RELEASED["sqlite"]}
    assert released == RELEASED["sqlite"]


async def test_a_previous_release_file_keeps_its_events_and_takes_appends(path: Path) -> None:
    make_previous_release_file(path)
    await migrate(path)
    store = await SQLiteEventStore.open(path)
    try:
        result = await store.append_events(
            "Account-1", [NewEvent("Deposited", {"amount": 4})], expected_version=3
        )
        events = [e async for e in store.read_stream("Account-1")]
    finally:
        await store.close()
    assert result.version == 4
    assert [(e.version, e.data) for e in events] == [(v, {"amount": v}) for v in (1, 2, 3, 4)]


def test_the_command_line_migrates_a_sqlite_file(path: Path) -> None:
    url = f"sqlite:///{path}"  # path is absolute: sqlite:////tmp/...
    first = subprocess.run(
        [CLI, "migrate", "--url", url], capture_output=True, text=True, check=False
    )
    again = subprocess.run(
        [CLI, "migrate", "--url", url], capture_output=True, text=True, check=False
    )
    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert first.stdout == f"SQLite file {str(path)!r}: applied {', '.join(ALL_FILES)}\n"
    assert again.stdout == f"SQLite file {str(path)!r}: up to date\n"


def test_the_command_line_reports_a_changed_file_and_fails(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--url", f"sqlite:///{path}"]) == 0
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute(
            "UPDATE schema_migrations SET checksum = ? WHERE name = ?", ("0" * 64, ALL_FILES[0])
        )
    finally:
        raw.close()
    capsys.readouterr()
    assert main(["migrate", "--url", f"sqlite:///{path}"]) == 1
    assert f"store/sqlite/{ALL_FILES[0]} changed after" in capsys.readouterr().err


def test_the_command_line_refuses_a_schema_for_a_sqlite_file(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--url", f"sqlite:///{path}", "--schema", "x"]) == 1
    assert "--schema is for PostgreSQL" in capsys.readouterr().err
    assert not path.exists()

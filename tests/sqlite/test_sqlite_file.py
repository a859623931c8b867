"""The SQLite store's file: its mode, its schema, its migrations, its guards."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from migration_support import apply_as_before_checksums

from eventsourcing_kit import NewEvent, connect
from eventsourcing_kit.errors import ConfigurationError, StoreUnavailableError
from eventsourcing_kit.stores.driver import sql_files
from eventsourcing_kit.stores.sqlite import SQLiteEventStore


def applied_migrations(raw: sqlite3.Connection) -> list[tuple[str, str]]:
    return raw.execute("SELECT name, applied_at FROM schema_migrations ORDER BY name").fetchall()


async def test_the_store_file_is_in_wal_mode(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_connect_opens_a_file_at_an_absolute_path(tmp_path: Path) -> None:
    path = tmp_path / "bank.db"
    async with connect(f"sqlite:///{path}") as store:
        await store.append_events("Account-1", [NewEvent("Opened", {})])
    assert path.is_file()


async def test_a_new_file_gets_every_migration(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    names = [name for name, _ in applied_migrations(raw)]
    assert names == [name for name, _ in sql_files("sqlite")]


async def test_reopening_does_not_apply_migrations_again(
    store: SQLiteEventStore, path: Path, raw: sqlite3.Connection
) -> None:
    before = applied_migrations(raw)
    await store.close()
    reopened = await SQLiteEventStore.open(str(path))
    await reopened.close()
    assert applied_migrations(raw) == before


async def test_opening_an_older_file_applies_only_the_new_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"  # not the `store` fixture's file: that one is migrated already
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        files = sql_files("sqlite")
        apply_as_before_checksums(raw, files[:2])
        old = applied_migrations(raw)
        store = await SQLiteEventStore.open(str(path))
        await store.close()
        now = applied_migrations(raw)
    finally:
        raw.close()
    assert now[:2] == old
    assert [name for name, _ in now] == [name for name, _ in files]


async def test_the_database_refuses_to_update_an_event(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    await store.append_events("Account-1", [NewEvent("Opened", {})])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET data = '{}'")


async def test_the_database_refuses_to_delete_an_event(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    await store.append_events("Account-1", [NewEvent("Opened", {})])
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")


async def test_a_directory_is_not_a_store_path(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="cannot open the SQLite file") as raised:
        await SQLiteEventStore.open(str(tmp_path))
    assert str(tmp_path) in str(raised.value)


async def test_a_missing_directory_is_reported_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="existing directory"):
        await SQLiteEventStore.open(str(tmp_path / "missing" / "events.db"))


async def test_a_read_only_location_is_reported_clearly() -> None:
    # /proc accepts no new files, even for root (chmod would not stop root).
    with pytest.raises(StoreUnavailableError, match=r"/proc/eventsourcing-kit\.db"):
        await SQLiteEventStore.open("/proc/eventsourcing-kit.db")


async def test_a_file_that_is_not_a_database_is_reported_clearly(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(StoreUnavailableError, match="is not a SQLite database"):
        await SQLiteEventStore.open(str(path))


@pytest.mark.parametrize("path", ["", ":memory:", "file:events.db?mode=memory"])
async def test_an_in_memory_or_uri_path_is_refused(path: str) -> None:
    with pytest.raises(ConfigurationError, match="memory://"):
        await SQLiteEventStore.open(path)


@pytest.mark.parametrize(
    "options", [{"busy_timeout": -1}, {"busy_timeout": "5"}, {"synchronous": "OFF"}]
)
async def test_bad_options_are_refused(tmp_path: Path, options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        await SQLiteEventStore.open(str(tmp_path / "events.db"), **options)  # type: ignore[arg-type]

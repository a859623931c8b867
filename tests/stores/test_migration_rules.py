"""The migration rules SQLite and PostgreSQL share: order, checksums, what is an error."""

from __future__ import annotations

import hashlib

import pytest
from migration_support import RELEASED
from structlog.testing import capture_logs

from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores.driver import (
    Migration,
    load_migrations,
    migrations_of,
    pending_migrations,
)

FILES = [
    ("0002_events.sql", "CREATE TABLE events (id int);"),
    ("0001_schema.sql", "CREATE TABLE schema_migrations (name text);"),
    ("0010_more.sql", "ALTER TABLE events ADD COLUMN more text;"),
]


def sha256(text: str) -> str:
    """The checksum a migration records: the sha256 (hex) of its UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def recorded(*migrations: Migration) -> dict[str, str | None]:
    """What a database records after applying `migrations`, as they are."""
    return {migration.name: migration.checksum for migration in migrations}


@pytest.fixture
def migrations() -> list[Migration]:
    return migrations_of("postgres", FILES)


def test_migrations_are_ordered_by_their_number() -> None:
    names = [migration.name for migration in migrations_of("postgres", FILES)]
    assert names == ["0001_schema.sql", "0002_events.sql", "0010_more.sql"]


def test_a_migration_carries_the_sha256_of_its_text(migrations: list[Migration]) -> None:
    assert migrations[0].checksum == sha256("CREATE TABLE schema_migrations (name text);")
    assert len(migrations[0].checksum) == 64


def test_a_file_not_named_number_underscore_words_is_refused() -> None:
    with pytest.raises(MigrationError, match=r"store/sqlite/events\.sql is not named"):
        migrations_of("sqlite", [("events.sql", "")])


def test_two_files_with_one_number_are_refused() -> None:
    files = [("0009_bigint.sql", ""), ("0009_other.sql", ""), ("0008_x.sql", "")]
    with pytest.raises(MigrationError, match=r"0009_bigint\.sql and 0009_other\.sql have the same"):
        migrations_of("postgres", files)


def test_a_new_database_gets_every_migration(migrations: list[Migration]) -> None:
    assert pending_migrations(migrations, {}, target="schema 's'") == migrations


def test_applied_migrations_are_not_applied_again(migrations: list[Migration]) -> None:
    applied = recorded(*migrations[:2])
    assert pending_migrations(migrations, applied, target="schema 's'") == migrations[2:]


def test_an_applied_migration_whose_file_changed_is_an_error(
    migrations: list[Migration],
) -> None:
    applied = recorded(*migrations)
    applied["0002_events.sql"] = sha256("CREATE TABLE events (id bigint);")
    with pytest.raises(MigrationError) as raised:
        pending_migrations(migrations, applied, target="schema 's'")
    message = str(raised.value)
    assert "store/postgres/0002_events.sql changed after it was applied to schema 's'" in message
    assert "restore the file as it was released" in message
    assert "new file with the next free number" in message


def test_a_migration_recorded_without_a_checksum_is_not_checked(
    migrations: list[Migration],
) -> None:
    applied: dict[str, str | None] = {"0001_schema.sql": None, "0002_events.sql": None}
    assert pending_migrations(migrations, applied, target="schema 's'") == migrations[2:]


def test_a_migration_missing_below_an_applied_one_is_an_error(
    migrations: list[Migration],
) -> None:
    applied = recorded(migrations[0], migrations[2])
    with pytest.raises(MigrationError, match=r"0002_events.sql is not applied .* 0010_more.sql"):
        pending_migrations(migrations, applied, target="schema 's'")


def test_migrations_recorded_but_not_shipped_are_logged_and_left_alone(
    migrations: list[Migration],
) -> None:
    applied = {**recorded(*migrations), "0011_newer.sql": "0" * 64}
    with capture_logs() as logs:
        assert pending_migrations(migrations, applied, target="schema 's'") == []
    assert [(log["log_level"], log["migrations"]) for log in logs] == [
        ("warning", ["0011_newer.sql"])
    ]


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_released_migrations_are_never_edited(backend: str) -> None:
    shipped = {migration.name: migration.checksum for migration in load_migrations(backend)}
    assert {name: shipped.get(name) for name in RELEASED[backend]} == RELEASED[backend]

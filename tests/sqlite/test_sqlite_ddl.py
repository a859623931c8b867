"""The DDL files come out whole, though the store runs them statement by statement.

sqlite3's executescript() would commit the migration's transaction first, so
the store splits each file into statements itself. SQLite's own script
runner is the reference: migrating must make exactly the schema it makes of
the same files, whose trigger bodies, comments and strings hold `;`.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from eventsourcing_kit.stores.driver import sql_files
from eventsourcing_kit.stores.sqlite import migrate


def schema_of(path: Path) -> list[tuple[str, str, str]]:
    """Every object of the file at `path` as (type, name, the SQL that made it)."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
        )
        return [tuple(row) for row in rows]
    finally:
        connection.close()


def made_by_sqlite(path: Path) -> Path:
    """A file made by SQLite's own script runner from the shipped files."""
    connection = sqlite3.connect(path)
    try:
        for _, text in sql_files("sqlite"):
            connection.executescript(text)
    finally:
        connection.close()
    return path


async def test_migrating_makes_the_schema_sqlite_makes_of_the_files(tmp_path: Path) -> None:
    await migrate(tmp_path / "store.db")
    assert schema_of(tmp_path / "store.db") == schema_of(made_by_sqlite(tmp_path / "sqlite.db"))


@pytest.mark.parametrize(
    ("case", "pattern"),
    [
        ("a trigger body: one statement holding a ';'", r"CREATE TRIGGER[^;]*;(?s:.)*?\bEND;"),
        ("a comment holding a ';'", r"--[^\n]*;"),
        ("a string holding a ';'", r"'[^'\n]*;[^'\n]*'"),
    ],
)
def test_the_shipped_files_hold_the_cases_splitting_must_keep_whole(
    case: str, pattern: str
) -> None:
    # Otherwise the comparison above would not cover them.
    assert any(re.search(pattern, text) for _, text in sql_files("sqlite")), case

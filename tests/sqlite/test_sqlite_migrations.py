"""SQLite migrations on their own: `migrate(path)` and the command line."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sysconfig
from pathlib import Path

import pytest

from eventsourcing_kit.cli import main
from eventsourcing_kit.stores._ddl import sql_files
from eventsourcing_kit.stores.sqlite import migrate

ALL_FILES = [name for name, _ in sql_files("sqlite")]
# The installed console script, as users run it.
CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"


def applied_names(path: Path) -> list[str]:
    raw = sqlite3.connect(path)
    try:
        return [name for (name,) in raw.execute("SELECT name FROM schema_migrations ORDER BY 1")]
    finally:
        raw.close()


async def test_migrate_creates_a_missing_file_with_every_migration(path: Path) -> None:
    assert await migrate(path) == ALL_FILES
    assert applied_names(path) == ALL_FILES


async def test_migrate_applies_nothing_to_an_up_to_date_file(path: Path) -> None:
    await migrate(path)
    assert await migrate(path) == []


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


def test_the_command_line_refuses_a_schema_for_a_sqlite_file(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate", "--url", f"sqlite:///{path}", "--schema", "x"]) == 1
    assert "--schema is for PostgreSQL" in capsys.readouterr().err
    assert not path.exists()

"""The migration rules both SQL backends share: which files, in what order, what is an error.

A backend's migrations are the numbered files of ``store/<backend>/``
(``0001_schema.sql``, ``001_schema_migrations.sql``): applied in number
order, each once, and recorded with the sha256 of its text. A released file
is never edited; a change is a new file with the next number. This module
holds the decisions; each backend's adapter (``postgres/_migrations.py``,
``sqlite/_setup.py``) holds only its I/O: taking its lock, reading the
record, running a file's statements, writing the record.

- `load_migrations` reads the files and checks their names: two files with
  one number (two branches that each added "the next" file) are an error
  before anything runs.
- `pending_migrations` compares them with what a database has recorded and
  returns what to apply. An applied file whose text changed since is an
  error, never a warning: the database holds what the old text made, and
  running the new one, or not running it, would both leave the schema
  other than the files say. A file that is not applied while a later one
  is (a number slipped in below a released file) is an error too.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence

import attrs

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores._ddl import sql_files

__all__ = ["Migration", "checksum", "load_migrations", "migrations_of", "pending_migrations"]

logger = get_logger(__name__)

_NAME = re.compile(r"(?P<number>[0-9]+)_[a-z0-9_]+\.sql")


def checksum(text: str) -> str:
    """The sha256 (hex) recorded for a file: of its text (newlines as read), in UTF-8."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@attrs.frozen
class Migration:
    """One numbered SQL file of a backend, ready to apply."""

    backend: str
    name: str
    number: int
    sql: str = attrs.field(repr=False)
    checksum: str

    @property
    def path(self) -> str:
        """The file for messages, as in the repository: ``store/postgres/0001_schema.sql``."""
        return f"store/{self.backend}/{self.name}"


def migrations_of(backend: str, files: Iterable[tuple[str, str]]) -> list[Migration]:
    """`files` (name, text) as migrations in number order; `MigrationError` for a bad name."""
    migrations: list[Migration] = []
    for name, text in files:
        match = _NAME.fullmatch(name)
        if match is None:
            raise MigrationError(
                f"store/{backend}/{name} is not named like a migration: name it "
                "<number>_<what_it_does>.sql (digits, then lower-case letters, digits and "
                "underscores), with the next free number"
            )
        migrations.append(Migration(backend, name, int(match["number"]), text, checksum(text)))
    migrations.sort(key=lambda migration: migration.number)
    for before, after in itertools.pairwise(migrations):
        if before.number == after.number:
            raise MigrationError(
                f"store/{backend}/{before.name} and {after.name} have the same number: give "
                f"the newer one the next free number ({migrations[-1].number + 1}); a released "
                "file keeps its name"
            )
    return migrations


def load_migrations(backend: str) -> list[Migration]:
    """The migrations the package ships for `backend` (``"postgres"``, ``"sqlite"``)."""
    return migrations_of(backend, sql_files(backend))


def pending_migrations(
    migrations: Sequence[Migration], applied: Mapping[str, str | None], *, target: str
) -> list[Migration]:
    """The migrations still to apply to a database, in order.

    `applied` maps each recorded file name to its recorded checksum (None:
    recorded before the database kept checksums, so not checked). `target`
    names the database in messages (``schema 'eventsourcing'``).

    Raises `MigrationError` when an applied file has changed since, or when
    a file is missing below one that is applied. Recorded names the package
    does not ship (a newer release migrated this database) are logged and
    left alone.
    """
    for migration in migrations:
        recorded = applied.get(migration.name)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(
                f"{migration.path} changed after it was applied to {target}: its sha256 "
                f"was {recorded}, the file's is now {migration.checksum}. A released "
                "migration is never edited: restore the file as it was released and put "
                "the change in a new file with the next free number (a throwaway database "
                "can instead be dropped and migrated again)"
            )
    pending = [migration for migration in migrations if migration.name not in applied]
    if pending:
        later = [m for m in migrations if m.name in applied and m.number > pending[0].number]
        if later:
            raise MigrationError(
                f"{pending[0].path} is not applied to {target}, but {later[0].name}, which "
                "comes after it, is: migrations apply in number order, so a file cannot be "
                "added below a released one. Give it the next free number instead"
            )
    shipped = {migration.name for migration in migrations}
    unknown = sorted(name for name in applied if name not in shipped)
    if unknown:
        logger.warning(
            "the database has migrations this release does not ship; a newer "
            "eventsourcing-kit migrated it",
            target=target,
            migrations=unknown,
        )
    return pending

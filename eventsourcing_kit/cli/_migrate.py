"""``eventsourcing-kit migrate``: apply pending PostgreSQL migrations."""

from __future__ import annotations

import argparse
import asyncio

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``migrate`` command to the parser's subcommands."""
    parser = commands.add_parser(
        "migrate",
        help="create or update the event store's tables in a PostgreSQL schema",
        description=(
            "Apply the pending store/postgres/*.sql migrations to one schema. Running it "
            "again does nothing; concurrent runs are serialized by an advisory lock."
        ),
    )
    parser.add_argument(
        "--url", required=True, help="the database, e.g. postgresql://user@host:5432/db"
    )
    parser.add_argument(
        "--schema",
        default=None,
        help="the schema to migrate (default: the URL's ?schema=, else 'eventsourcing')",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Migrate and print what was applied."""
    from eventsourcing_kit.stores.postgres import DEFAULT_SCHEMA, migrate, split_schema

    dsn, url_schema = split_schema(arguments.url)
    schema = arguments.schema or url_schema or DEFAULT_SCHEMA
    applied = asyncio.run(migrate(dsn, schema=schema))
    if applied:
        print(f"schema {schema!r}: applied {', '.join(applied)}")
    else:
        print(f"schema {schema!r}: up to date")
    return 0

"""``eventsourcing-kit migrate``: apply pending migrations to a PostgreSQL schema or SQLite
file, or create a DynamoDB table."""

from __future__ import annotations

import argparse
import asyncio

from eventsourcing_kit.errors import ConfigurationError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``migrate`` command to the parser's subcommands."""
    parser = commands.add_parser(
        "migrate",
        help=(
            "create or update the event store's tables (PostgreSQL schema, SQLite file or "
            "DynamoDB table)"
        ),
        description=(
            "Apply the pending store/postgres/*.sql migrations to one PostgreSQL schema, or "
            "the pending store/sqlite/*.sql migrations to one SQLite file, or create the "
            "DynamoDB table of store/dynamodb/table.json (AWS credentials from the standard "
            "chain). Running it again does nothing; concurrent runs apply each file once. A "
            "file changed after it was applied is an error."
        ),
    )
    parser.add_argument(
        "--url",
        required=True,
        help=(
            "the database: postgresql://user@host:5432/db, sqlite:///path.db or "
            "dynamodb://table?endpoint_url=...&region=..."
        ),
    )
    parser.add_argument(
        "--schema",
        default=None,
        help=(
            "PostgreSQL only: the schema to migrate (default: the URL's ?schema=, else "
            "'eventsourcing')"
        ),
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    """Migrate and print what was applied."""
    scheme = arguments.url.partition("://")[0].lower()
    if scheme in ("postgresql", "postgres"):
        target, applied = _postgres(arguments.url, arguments.schema)
    elif scheme == "sqlite":
        if arguments.schema is not None:
            raise ConfigurationError("--schema is for PostgreSQL; a SQLite file has no schemas")
        target, applied = _sqlite(arguments.url)
    elif scheme == "dynamodb":
        if arguments.schema is not None:
            raise ConfigurationError("--schema is for PostgreSQL; a DynamoDB table has no schemas")
        target, applied = _dynamodb(arguments.url)
    else:
        raise ConfigurationError(
            f"cannot migrate {arguments.url!r}: give a postgresql://user@host:5432/db, a "
            "sqlite:///path.db or a dynamodb://table?endpoint_url=...&region=... URL"
        )
    if applied:
        print(f"{target}: applied {', '.join(applied)}")
    else:
        print(f"{target}: up to date")
    return 0


def _postgres(url: str, schema: str | None) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.postgres import DEFAULT_SCHEMA, migrate, split_schema

    dsn, url_schema = split_schema(url)
    schema = schema or url_schema or DEFAULT_SCHEMA
    return f"schema {schema!r}", asyncio.run(migrate(dsn, schema=schema))


def _sqlite(url: str) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.sqlite import migrate, path_from_url

    path = path_from_url(url)
    return f"SQLite file {path!r}", asyncio.run(migrate(path))


def _dynamodb(url: str) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.dynamodb import location_from_url, migrate

    table = location_from_url(url).table
    return f"DynamoDB table {table!r}", asyncio.run(migrate(url))

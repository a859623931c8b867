"""``eventsourcing-kit migrate``: create or update a store's tables, or its DynamoDB table."""

from __future__ import annotations

import click

from eventsourcing_kit.cli._common import (
    Output,
    describe_url,
    open_store,
    require_url,
    run,
    store_options,
)
from eventsourcing_kit.errors import ConfigurationError

__all__ = ["migrate"]


@click.command()
@store_options()
@click.option(
    "--schema",
    default=None,
    help="PostgreSQL only: the schema to migrate (default: the URL's ?schema=, else "
    "'eventsourcing').",
)
def migrate(url: str | None, schema: str | None, as_json: bool) -> None:
    """Create or update the store's tables: a PostgreSQL schema, a SQLite file or a DynamoDB table.

    Applies the pending store/postgres/*.sql or store/sqlite/*.sql files, or
    creates the table of store/dynamodb/table.json (AWS credentials from the
    standard chain). Running it again does nothing; concurrent runs apply each
    file once; a file changed after it was applied is an error. Another
    backend is brought up to date by opening it, as connect() does.
    """
    url = require_url(url)
    scheme = url.partition("://")[0].lower()
    if schema is not None and scheme not in ("postgresql", "postgres"):
        raise ConfigurationError(f"--schema is for PostgreSQL; a {scheme}:// store has no schemas")
    if scheme in ("postgresql", "postgres"):
        target, applied = _postgres(url, schema)
    elif scheme == "sqlite":
        target, applied = _sqlite(url)
    elif scheme == "dynamodb":
        target, applied = _dynamodb(url)
    else:
        target, applied = _other(url)
    output = Output(as_json=as_json)
    if as_json:
        output.json({"target": target, "applied": applied})
    elif applied:
        output.line(f"{target}: applied {', '.join(applied)}")
    else:
        output.line(f"{target}: up to date")


def _postgres(url: str, schema: str | None) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.postgres import DEFAULT_SCHEMA, migrate, split_schema

    dsn, url_schema = split_schema(url)
    schema = schema or url_schema or DEFAULT_SCHEMA
    return f"schema {schema!r}", run(migrate(dsn, schema=schema))


def _sqlite(url: str) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.sqlite import migrate, path_from_url

    path = path_from_url(url)
    return f"SQLite file {path!r}", run(migrate(path))


def _dynamodb(url: str) -> tuple[str, list[str]]:
    from eventsourcing_kit.stores.dynamodb import location_from_url, migrate

    table = location_from_url(url).table
    return f"DynamoDB table {table!r}", run(migrate(url))


def _other(url: str) -> tuple[str, list[str]]:
    # A backend with no migration files of its own sets up its storage
    # when a store opens it.
    async def open_once() -> None:
        async with open_store(url, create=True):
            pass

    run(open_once())
    return describe_url(url), []

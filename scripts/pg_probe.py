"""Tell whether a PostgreSQL server answers at a DSN, for scripts/ensure-postgres.sh.

Usage: ``python scripts/pg_probe.py DSN [--create-database]``

Exit status 0 when a connection to DSN succeeds, 1 when it does not (the reason
goes to stderr). With ``--create-database``, a server that answers but lacks
the DSN's database gets it created first, so a fresh cluster (or a machine whose
``test`` database was dropped) is usable without a manual ``createdb``.

It uses asyncpg, which the project's ``postgres`` extra installs, so that the
probe needs nothing beyond the project's own dependencies (psql may be absent).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from urllib.parse import unquote, urlsplit

import asyncpg

# Short, because an absent server should cost the test run seconds, not a minute.
CONNECT_TIMEOUT_SECONDS = 3.0


def _quote_identifier(name: str) -> str:
    # CREATE DATABASE cannot take a bound parameter, so quote the name as
    # PostgreSQL's quote_ident() would: double quotes, inner quotes doubled.
    return '"' + name.replace('"', '""') + '"'


async def _create_database(dsn: str, name: str) -> None:
    # Connect to the maintenance database with the same host, port and user.
    conn = await asyncpg.connect(dsn, database="postgres", timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await conn.execute(f"CREATE DATABASE {_quote_identifier(name)}")
    except asyncpg.DuplicateDatabaseError:
        pass  # another process created it between our two connections
    finally:
        await conn.close()


async def probe(dsn: str, *, create_database: bool) -> str | None:
    """Return None when DSN answers, or a one-line reason why it does not."""
    try:
        conn = await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT_SECONDS)
    except asyncpg.InvalidCatalogNameError as exc:
        if not create_database:
            return f"the server answers but: {exc}"
        name = unquote(urlsplit(dsn).path.lstrip("/"))
        if not name:
            return f"the server answers but the DSN names no database to create: {exc}"
        try:
            await _create_database(dsn, name)
        except (OSError, asyncpg.PostgresError) as create_exc:
            return f"could not create database {name!r}: {create_exc}"
        return await probe(dsn, create_database=False)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        return f"{type(exc).__name__}: {exc}"
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dsn")
    parser.add_argument("--create-database", action="store_true")
    args = parser.parse_args(argv)
    reason = asyncio.run(probe(args.dsn, create_database=args.create_database))
    if reason is not None:
        print(f"pg_probe: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

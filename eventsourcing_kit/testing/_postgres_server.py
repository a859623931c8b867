"""The PostgreSQL server of the store plugin: where it is, whether it answers, its schemas.

asyncpg and the PostgreSQL backend are imported inside the functions that
need them, so that the plugin works without the ``postgres`` extra until a
test asks for a PostgreSQL store.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import NoReturn
from urllib.parse import urlencode, urlsplit

import pytest

from eventsourcing_kit.stores.driver import redact_url as redact
from eventsourcing_kit.stores.driver import split_schema

__all__ = [
    "DEFAULT_DSN",
    "DSN_ENV",
    "SCHEMA_PREFIX",
    "PostgresServer",
    "ci_is_set",
    "require_postgres",
    "schema_named_in",
    "skip_or_fail",
    "unreachable",
    "with_schema",
]

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DSN_ENV = "EVENTSOURCING_KIT_TEST_DSN"
SCHEMA_PREFIX = "eskit_test_"
"""Every schema the plugin makes starts with it, and it drops only those."""

PROBE_TIMEOUT = 5.0
DROP_LOCK_TIMEOUT = "10s"
"""How long dropping a schema waits for a lock still held by a connection the test left open."""


def ci_is_set() -> bool:
    """True when env ``CI`` says this is a CI run ("1", "true" or "yes")."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def schema_named_in(dsn: str) -> str | None:
    """The ``?schema=NAME`` of `dsn`, if it has one."""
    return split_schema(dsn)[1]


def with_schema(dsn: str, schema: str) -> str:
    """`dsn` with ``?schema=NAME``: the URL `connect()` opens that schema's store with."""
    rest = split_schema(dsn)[0]
    return f"{rest}{'&' if urlsplit(rest).query else '?'}{urlencode({'schema': schema})}"


async def unreachable(dsn: str) -> str | None:
    """Why the server of `dsn` cannot be used, or None when it answers."""
    try:
        import asyncpg
    except ImportError:
        return "asyncpg is not installed: pip install 'eventsourcing-kit[postgres]'"
    try:
        connection = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
        return f"PostgreSQL is unreachable at {redact(dsn)}: {error!r}"
    await connection.close()
    return None


def skip_or_fail(reason: str) -> NoReturn:
    """Skip the test, or fail it when env ``CI`` is set: a CI run must not
    pass by skipping the PostgreSQL tests."""
    if ci_is_set():
        pytest.fail(f"{reason} (CI is set: PostgreSQL is required)", pytrace=False)
    pytest.skip(
        f"{reason} (start the server, or point {DSN_ENV} or --eventsourcing-kit-dsn at one)"
    )


def require_postgres(dsn: str) -> str:
    """`dsn` if its server answers; else skip, or fail when env ``CI`` is set.

    Probes with an event loop of its own: call it where none is running
    (a plain fixture). Inside one, use `PostgresServer.require`.
    """
    reason = asyncio.run(unreachable(dsn))
    if reason is not None:
        skip_or_fail(reason)
    return dsn


class PostgresServer:
    """The server of one test session: its DSN, whether it answers, its schemas.

    The server is probed once per session, at the first test that needs it;
    every later test skips (or fails) at once if it did not answer.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._probed = False
        self._reason: str | None = None

    async def require(self) -> str:
        """The DSN, once the server answered; else skip, or fail under CI."""
        if not self._probed:
            self._reason = await unreachable(self.dsn)
            self._probed = True
        return self._checked()

    def require_blocking(self) -> str:
        """`require` for a plain fixture, where no event loop runs."""
        if not self._probed:
            self._reason = asyncio.run(unreachable(self.dsn))
            self._probed = True
        return self._checked()

    def _checked(self) -> str:
        if self._reason is not None:
            skip_or_fail(self._reason)
        return self.dsn

    def new_schema_name(self) -> str:
        """A schema name no other test or session uses: SCHEMA_PREFIX and 12 hex digits."""
        return SCHEMA_PREFIX + secrets.token_hex(6)

    async def migrate(self, schema: str) -> None:
        """Create `schema` with every migration of the kit applied."""
        from eventsourcing_kit.stores.postgres import migrate

        await migrate(self.dsn, schema=schema)

    async def drop_schema(self, schema: str) -> None:
        """Drop a schema this plugin made, with everything in it."""
        import asyncpg

        from eventsourcing_kit.stores.postgres import quote_identifier

        if not schema.startswith(SCHEMA_PREFIX):
            raise ValueError(f"refusing to drop {schema!r}: the plugin did not make it")
        connection = await asyncpg.connect(self.dsn, timeout=PROBE_TIMEOUT)
        try:
            # A connection the test left open inside a transaction would
            # otherwise make the teardown hang instead of fail.
            await connection.execute(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            await connection.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")
        finally:
            await connection.close()

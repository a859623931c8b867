"""The grants of docs/operations.md are enough for a store, and keep events immutable.

The page's ```sql block runs on a fresh schema, for a role of this test's
own; a store opened as that role then does everything an application does,
and changing an event is refused by the grants themselves.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
from postgres_support import drop_schema, new_schema_name

from eventsourcing_kit import NewEvent, PostgresEventStore, RecordedEvent, Snapshot, subscribe
from eventsourcing_kit.stores.postgres import migrate, quote_identifier, split_schema

pytestmark = pytest.mark.postgres

PAGE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
GRANTS = re.search(r"^```sql\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.M | re.S)


def _as_role(dsn: str, role: str) -> str:
    scheme, netloc, path, query, fragment = urlsplit(split_schema(dsn)[0])
    host = netloc.rpartition("@")[2]
    return urlunsplit((scheme, f"{role}@{host}", path, query, fragment))


@pytest_asyncio.fixture
async def app_dsn(postgres_dsn: str) -> AsyncIterator[tuple[str, str]]:
    """A migrated schema and a role granted what the page grants: (DSN as the role, schema)."""
    assert GRANTS is not None, "operations.md lost its ```sql block"
    schema, role = new_schema_name(), f"eskit_test_app_{secrets.token_hex(4)}"
    await migrate(postgres_dsn, schema=schema)
    sql = GRANTS.group(1).replace("eventsourcing", quote_identifier(schema))
    sql = sql.replace("es_app", role)
    admin = await asyncpg.connect(split_schema(postgres_dsn)[0])
    try:
        await admin.execute(sql)
        yield _as_role(postgres_dsn, role), schema
    finally:
        await admin.execute(f"DROP OWNED BY {role}; DROP ROLE {role}")
        await admin.close()
        await drop_schema(postgres_dsn, schema)


async def test_a_store_under_the_granted_role_does_an_applications_work(
    app_dsn: tuple[str, str],
) -> None:
    dsn, schema = app_dsn
    store = await PostgresEventStore.open(dsn, schema=schema, migrate=False)
    try:
        await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
        await store.append_events("Account-1", [NewEvent("Deposited", {"amount": 1})])
        assert [e.version async for e in store.read_stream("Account-1")] == [1, 2]
        [*_, last] = [e async for e in store.read_all()]
        await store.save_snapshot(
            Snapshot(stream_id="Account-1", version=2, state_schema="s", data={"balance": 1})
        )
        assert await store.load_snapshot("Account-1") is not None
        await store.save_checkpoint("reports", last.position)
        await store.delete_checkpoint("reports")
        assert await store.load_checkpoint("reports") is None
    finally:
        await store.close()


async def test_a_subscription_under_the_granted_role_runs_with_its_lease(
    app_dsn: tuple[str, str],
) -> None:
    dsn, schema = app_dsn
    store = await PostgresEventStore.open(dsn, schema=schema, migrate=False)
    try:
        await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
        seen: list[str] = []
        handled = asyncio.Event()

        async def handle(event: RecordedEvent) -> None:
            seen.append(event.stream_id)
            handled.set()

        async with subscribe(store, "reports", handle):
            await asyncio.wait_for(handled.wait(), timeout=10)
        assert seen == ["Account-1"]
        assert await store.load_checkpoint("reports") is not None
    finally:
        await store.close()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE {s}.events SET data = '{{}}'", "DELETE FROM {s}.events", "TRUNCATE {s}.events"],
)
async def test_the_granted_role_cannot_change_events(
    app_dsn: tuple[str, str], statement: str
) -> None:
    dsn, schema = app_dsn
    connection = await asyncpg.connect(dsn)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute(statement.format(s=quote_identifier(schema)))
    finally:
        await connection.close()

"""Driver errors the store cannot tell apart by SQLSTATE still become kit errors.

The server cannot be made to raise these on demand, so a pool of the test's
own raises them (asyncpg lets a pool's owner choose its `connection_class`)
from the statement the store sends, as asyncpg itself would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from postgres_support import users_pool

from eventsourcing_kit.errors import StoreError, StoreUnavailableError
from eventsourcing_kit.stores.postgres import PostgresEventStore


def failing_with(error: BaseException) -> type[asyncpg.Connection]:
    """Connections whose every one-row statement raises `error`."""

    class Failing(asyncpg.Connection):
        async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
            raise error

    return Failing


@pytest.fixture
def error() -> BaseException:
    """The driver's error: each test names its own with parametrize."""
    raise NotImplementedError("parametrize `error`")


@pytest.fixture
async def store(
    pg_dsn: str, pg_schema: str, error: BaseException
) -> AsyncIterator[PostgresEventStore]:
    async with users_pool(pg_dsn, connection_class=failing_with(error)) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        yield store
        await store.close()


@pytest.mark.parametrize(
    # asyncpg raises this when a statement goes out on a connection the
    # server ended before the client read its goodbye.
    "error",
    [asyncpg.InternalClientError("cannot switch to state 11; another operation")],
)
async def test_a_broken_protocol_state_is_store_unavailable(store: PostgresEventStore) -> None:
    with pytest.raises(StoreUnavailableError):
        await store.stream_version("Account-1")


@pytest.mark.parametrize("error", [asyncpg.InterfaceError("something new")])
async def test_an_unknown_driver_error_is_a_store_error_naming_it(
    store: PostgresEventStore,
) -> None:
    with pytest.raises(StoreError) as raised:
        await store.stream_version("Account-1")
    assert type(raised.value) is StoreError
    assert "something new" in str(raised.value)

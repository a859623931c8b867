"""The NOTIFY sender and the LISTEN waiter survive any driver error.

The store runs on a pool of the test's own whose connections fail the way
asyncpg can, `InternalClientError` included (the protocol's state broke),
which once killed the notifier's task ("Task exception was never
retrieved") and dropped the NOTIFY it owed.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from postgres_support import until, users_pool

from eventsourcing_kit import NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.stores.postgres import PostgresEventStore

NOTIFY = "pg_notify"


class Failures:
    """What a test pool's connections do: fail the next `left` NOTIFYs, count those sent."""

    def __init__(self, left: int, error: BaseException) -> None:
        self.left = left
        self.error = error
        self.sent = 0

    def connection_class(self) -> type[asyncpg.Connection]:
        failures = self

        class FailingNotify(asyncpg.Connection):  # type: ignore[misc]
            async def execute(self, query: str, *args: Any, **options: Any) -> str:
                if NOTIFY in query and failures.left > 0:
                    failures.left -= 1
                    raise failures.error
                done: str = await super().execute(query, *args, **options)
                if NOTIFY in query:
                    failures.sent += 1
                return done

        return FailingNotify


@asynccontextmanager
async def store_on(
    pg_dsn: str, pg_schema: str, failures: Failures
) -> AsyncIterator[PostgresEventStore]:
    """A store in `pg_schema` on a pool whose connections fail as `failures` says."""
    async with users_pool(pg_dsn, connection_class=failures.connection_class()) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        try:
            yield store
        finally:
            await store.close()


@pytest.fixture
def unhandled() -> Iterator[list[dict[str, Any]]]:
    """What the loop's exception handler saw: a task error nobody retrieved, say."""
    seen: list[dict[str, Any]] = []
    loop = asyncio.get_event_loop()
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: seen.append(context))
    yield seen
    loop.set_exception_handler(before)


async def test_an_owed_notify_is_sent_after_internal_client_errors(
    pg_dsn: str, pg_schema: str
) -> None:
    failures = Failures(3, asyncpg.InternalClientError("protocol state"))
    async with store_on(pg_dsn, pg_schema, failures) as store:
        await store.append_events("Account-1", [NewEvent("Opened", {})])
        assert await until(lambda: failures.sent == 1)
        assert failures.left == 0


async def test_the_notifier_goes_on_after_an_error_it_does_not_know(
    pg_dsn: str, pg_schema: str
) -> None:
    failures = Failures(2, RuntimeError("something else"))
    async with store_on(pg_dsn, pg_schema, failures) as store:
        await store.append_events("Account-1", [NewEvent("Opened", {})])
        assert await until(lambda: failures.sent == 1)
        await store.append_events("Account-1", [NewEvent("Paid", {})])
        assert await until(lambda: failures.sent == 2)


async def test_a_notify_given_up_leaves_no_task_error_and_the_next_one_goes(
    pg_dsn: str, pg_schema: str, unhandled: list[dict[str, Any]]
) -> None:
    # The first try and its three resends fail: that NOTIFY is given up
    # (readers fall back to polling), and the notifier carries on.
    failures = Failures(4, asyncpg.InternalClientError("down"))
    async with store_on(pg_dsn, pg_schema, failures) as store:
        await store.append_events("Account-1", [NewEvent("Opened", {})])
        assert await until(lambda: failures.left == 0)
        await asyncio.sleep(0.1)
        await store.append_events("Account-1", [NewEvent("Paid", {})])
        assert await until(lambda: failures.sent == 1)
    gc.collect()
    assert unhandled == []


async def test_a_subscription_polls_when_its_store_cannot_listen(
    pg_dsn: str, pg_schema: str
) -> None:
    class CannotListen(asyncpg.Connection):  # type: ignore[misc]
        async def add_listener(self, channel: str, callback: Any) -> None:
            raise asyncpg.InternalClientError("broken")

    seen: list[RecordedEvent] = []

    async def handle(event: RecordedEvent) -> None:
        seen.append(event)

    async with users_pool(pg_dsn, connection_class=CannotListen) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        try:
            async with subscribe(store, "polling", handle, poll_interval=0.05):
                await store.append_events("Account-1", [NewEvent("Opened", {})])
                assert await until(lambda: len(seen) == 1)
        finally:
            await store.close()

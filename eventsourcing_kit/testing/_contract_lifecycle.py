"""Store contract: live wake-ups, closing, and persistence across store objects."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from eventsourcing_kit.errors import (
    ConcurrencyError,
    StoreClosedError,
)
from eventsourcing_kit.stores import (
    EventStore,
    connect,
)
from eventsourcing_kit.testing._contract_support import (
    ANY,
    Reopen,
    collect,
    new,
    numbered,
    snapshot,
)

__all__ = ["LifecycleContract"]


class LifecycleContract:
    """Waiting for appends, closing, and reopening the same storage."""

    # --- live delivery ----------------------------------------------------------

    async def test_wait_for_events_wakes_when_another_task_appends(self, store: EventStore) -> None:
        waiter = asyncio.create_task(store.wait_for_events(timeout=30))
        try:
            await asyncio.sleep(0)  # let the waiter start waiting
            # An append that lands before a polling waiter took its baseline may
            # go unnoticed, so keep appending (boundedly) until it wakes.
            for n in range(50):
                await store.append_events("Ping-1", numbered(1, start=n))
                done, _ = await asyncio.wait({waiter}, timeout=0.1)
                if done:
                    break
            assert waiter.done()
            assert waiter.result() is True
        finally:
            waiter.cancel()

    async def test_wait_for_events_returns_false_on_timeout(self, store: EventStore) -> None:
        # Nothing is appended at all: a backend may deliver the wake-up of an
        # append made just before the wait late, and a spurious wake is harmless.
        assert await store.wait_for_events(timeout=0.05) is False

    # --- lifecycle --------------------------------------------------------------

    _OPERATIONS: dict[str, Callable[[EventStore], Awaitable[Any]]] = {
        "append_events": lambda s: s.append_events("Account-1", numbered(1)),
        "read_stream": lambda s: collect(s.read_stream("Account-1")),
        "read_all": lambda s: collect(s.read_all()),
        "read_category": lambda s: collect(s.read_category("Account")),
        "stream_version": lambda s: s.stream_version("Account-1"),
        "head_position": lambda s: s.head_position(),
        "save_snapshot": lambda s: s.save_snapshot(snapshot(1)),
        "load_snapshot": lambda s: s.load_snapshot("Account-1"),
        "load_checkpoint": lambda s: s.load_checkpoint("projection"),
        "delete_checkpoint": lambda s: s.delete_checkpoint("projection"),
    }

    @pytest.mark.parametrize("operation", sorted(_OPERATIONS))
    async def test_a_closed_store_refuses_every_operation(
        self, store: EventStore, operation: str
    ) -> None:
        await store.append_events("Account-1", numbered(1))
        await store.close()
        with pytest.raises(StoreClosedError):
            await self._OPERATIONS[operation](store)

    async def test_closing_twice_is_harmless(self, store: EventStore) -> None:
        await store.close()
        await store.close()

    async def test_async_with_store_closes_it(self, store: EventStore) -> None:
        async with store as same:
            assert same is store
        with pytest.raises(StoreClosedError):
            await store.stream_version("Account-1")

    async def test_async_with_connect_closes_the_store(self, store_url: str | None) -> None:
        if store_url is None:
            pytest.skip("this backend gives no store_url")
        async with connect(store_url) as opened:
            await opened.append_events("Account-1", numbered(1))
        with pytest.raises(StoreClosedError):
            await opened.stream_version("Account-1")

    async def test_awaited_connect_gives_an_open_store(self, store_url: str | None) -> None:
        if store_url is None:
            pytest.skip("this backend gives no store_url")
        opened = await connect(store_url)
        try:
            result = await opened.append_events("Account-1", numbered(2), expected_version=ANY)
            assert await opened.stream_version("Account-1") == result.version
        finally:
            await opened.close()

    # --- persistence across store objects --------------------------------------

    async def test_events_written_through_one_handle_are_read_through_another(
        self, store: EventStore, second: Reopen
    ) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        await store.append_events("Order-1", [new("Placed", {"total": 1.5})], expected_version=0)
        other = await second()
        assert await collect(other.read_all()) == await collect(store.read_all())
        assert await other.stream_version("Account-1") == 3
        assert await other.head_position() == await store.head_position()

    async def test_appends_through_two_handles_share_one_global_order(
        self, store: EventStore, second: Reopen
    ) -> None:
        other = await second()
        await store.append_events("Account-1", numbered(1), expected_version=0)
        await other.append_events("Account-1", numbered(1, start=2), expected_version=1)
        await store.append_events("Order-1", numbered(1, start=3), expected_version=0)
        mine = await collect(store.read_all())
        theirs = await collect(other.read_all())
        assert mine == theirs
        assert [e.data["n"] for e in mine] == [1, 2, 3]

    async def test_everything_survives_closing_the_store(
        self, store: EventStore, second: Reopen
    ) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        await store.save_snapshot(snapshot(2))
        events = await collect(store.read_all())
        await store.save_checkpoint("projection", events[1].position)
        await store.close()
        reopened = await second()
        assert await collect(reopened.read_all()) == events
        loaded = await reopened.load_snapshot("Account-1")
        assert loaded is not None
        assert loaded.version == 2
        assert await reopened.load_checkpoint("projection") == events[1].position

    async def test_expected_version_is_checked_against_the_other_handles_writes(
        self, store: EventStore, second: Reopen
    ) -> None:
        other = await second()
        await store.append_events("Account-1", numbered(2), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await other.append_events("Account-1", numbered(1), expected_version=0)
        assert raised.value.actual == 2

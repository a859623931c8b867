"""Store contract: concurrent writers and idempotent retries."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
)
from eventsourcing_kit.stores import (
    AppendResult,
    EventStore,
    ExpectedVersion,
    NewEvent,
)
from eventsourcing_kit.testing._contract_support import (
    ANY,
    NO_STREAM,
    Reopen,
    collect,
    new,
    numbered,
)

__all__ = ["ConcurrencyContract"]


class ConcurrencyContract:
    """Racing writers get one winner and clear errors; a retried batch is recognised."""

    # --- concurrent writers --------------------------------------------------

    async def _writers(self, store: EventStore, second: Reopen | None, count: int) -> list[Any]:
        """`count` store objects: all `store`, or alternately `store` and a second handle."""
        if second is None:
            return [store] * count
        other = await second()
        return [store if n % 2 == 0 else other for n in range(count)]

    async def _race_same_expected_version(self, writers: Sequence[EventStore]) -> None:
        await writers[0].append_events("Account-1", numbered(1), expected_version=0)
        outcomes = await asyncio.gather(
            *(
                w.append_events("Account-1", [new("Raced", {"w": n})], expected_version=1)
                for n, w in enumerate(writers)
            ),
            return_exceptions=True,
        )
        successes = [o for o in outcomes if isinstance(o, AppendResult)]
        conflicts = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert (len(successes), len(conflicts)) == (1, len(writers) - 1), outcomes
        assert successes[0].version == 2
        for conflict in conflicts:
            assert (conflict.stream_id, conflict.expected) == ("Account-1", 1)
            assert conflict.actual >= 2
        events = await collect(writers[0].read_stream("Account-1"))
        assert [e.version for e in events] == [1, 2]

    async def test_one_of_many_concurrent_writers_with_one_expected_version_wins(
        self, store: EventStore
    ) -> None:
        await self._race_same_expected_version(await self._writers(store, None, 20))

    async def test_one_of_many_concurrent_writers_on_two_handles_wins(
        self, store: EventStore, second: Reopen
    ) -> None:
        await self._race_same_expected_version(await self._writers(store, second, 20))

    async def _race_new_stream(self, writers: Sequence[EventStore]) -> None:
        outcomes = await asyncio.gather(
            *(
                w.append_events("Account-1", [new("Raced", {"w": n})], expected_version=NO_STREAM)
                for n, w in enumerate(writers)
            ),
            return_exceptions=True,
        )
        successes = [o for o in outcomes if isinstance(o, AppendResult)]
        conflicts = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert (len(successes), len(conflicts)) == (1, len(writers) - 1), outcomes
        assert all(c.actual >= 1 for c in conflicts)
        assert await writers[0].stream_version("Account-1") == 1

    async def test_one_of_many_concurrent_stream_creators_wins(self, store: EventStore) -> None:
        await self._race_new_stream(await self._writers(store, None, 20))

    async def test_one_of_many_concurrent_stream_creators_on_two_handles_wins(
        self, store: EventStore, second: Reopen
    ) -> None:
        await self._race_new_stream(await self._writers(store, second, 20))

    async def _race_any(self, writers: Sequence[EventStore]) -> None:
        outcomes = await asyncio.gather(
            *(
                w.append_events("Account-1", [new("Raced", {"w": n})], expected_version=ANY)
                for n, w in enumerate(writers)
            ),
            return_exceptions=True,
        )
        results = [o for o in outcomes if isinstance(o, AppendResult)]
        assert len(results) == len(writers), outcomes
        assert sorted(r.version for r in results) == list(range(1, len(writers) + 1))
        events = await collect(writers[0].read_stream("Account-1"))
        assert [e.version for e in events] == list(range(1, len(writers) + 1))
        assert sorted(e.data["w"] for e in events) == list(range(len(writers)))

    async def test_concurrent_writers_with_any_all_land_at_contiguous_versions(
        self, store: EventStore
    ) -> None:
        await self._race_any(await self._writers(store, None, 20))

    async def test_concurrent_writers_with_any_on_two_handles_all_land(
        self, store: EventStore, second: Reopen
    ) -> None:
        await self._race_any(await self._writers(store, second, 20))

    async def test_concurrent_writers_to_distinct_streams_get_distinct_positions(
        self, store: EventStore
    ) -> None:
        results = await asyncio.gather(
            *(
                store.append_events(f"Account-{n}", numbered(2), expected_version=0)
                for n in range(20)
            )
        )
        assert all(r.version == 2 for r in results)
        events = await collect(store.read_all())
        assert len(events) == 40
        assert len({e.global_position for e in events}) == 40

    async def test_concurrent_retries_of_one_batch_all_return_its_result(
        self, store: EventStore
    ) -> None:
        # A double submission: the first writes, every other one is a retry of it.
        batch = numbered(2)
        results = await asyncio.gather(
            *(store.append_events("Account-1", batch, expected_version=0) for _ in range(10)),
            return_exceptions=True,
        )
        assert all(isinstance(r, AppendResult) for r in results), results
        assert len(set(results)) == 1
        assert await store.stream_version("Account-1") == 2

    # --- idempotent retry ------------------------------------------------------

    @pytest.mark.parametrize(
        ("first", "retry"),
        [(0, 0), (NO_STREAM, NO_STREAM), (ANY, ANY), (0, ANY)],
        ids=["exact", "no-stream", "any", "exact-then-any"],
    )
    async def test_retried_batch_returns_the_original_result(
        self, store: EventStore, first: ExpectedVersion | int, retry: ExpectedVersion | int
    ) -> None:
        batch = numbered(3)
        original = await store.append_events("Account-1", batch, expected_version=first)
        again = await store.append_events("Account-1", batch, expected_version=retry)
        assert again == original

    async def test_retried_batch_writes_nothing(self, store: EventStore) -> None:
        batch = numbered(3)
        await store.append_events("Account-1", batch, expected_version=0)
        before = await collect(store.read_all())
        await store.append_events("Account-1", batch, expected_version=0)
        assert await collect(store.read_all()) == before

    async def test_retry_on_an_existing_stream_returns_the_original_result(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        batch = numbered(2, start=3)
        original = await store.append_events("Account-1", batch, expected_version=2)
        assert await store.append_events("Account-1", batch, expected_version=2) == original
        assert await store.stream_version("Account-1") == 4

    async def test_retry_after_later_appends_returns_the_original_result(
        self, store: EventStore
    ) -> None:
        batch = numbered(2)
        original = await store.append_events("Account-1", batch, expected_version=0)
        await store.append_events("Account-1", numbered(3, start=3), expected_version=2)
        assert await store.append_events("Account-1", batch, expected_version=0) == original
        assert await store.stream_version("Account-1") == 5

    async def test_retry_through_a_second_handle_returns_the_original_result(
        self, store: EventStore, second: Reopen
    ) -> None:
        batch = numbered(2)
        original = await store.append_events("Account-1", batch, expected_version=0)
        other = await second()
        assert await other.append_events("Account-1", batch, expected_version=0) == original
        assert await other.stream_version("Account-1") == 2

    @pytest.mark.parametrize("change", ["data", "event_type", "metadata"])
    async def test_same_id_with_other_content_is_rejected(
        self, store: EventStore, change: str
    ) -> None:
        stored = new("Deposited", {"amount": 5}, metadata={"user": "ada"})
        await store.append_events("Account-1", [stored], expected_version=0)
        changed = {
            "data": new("Deposited", {"amount": 6}, metadata={"user": "ada"}),
            "event_type": new("Withdrawn", {"amount": 5}, metadata={"user": "ada"}),
            "metadata": new("Deposited", {"amount": 5}, metadata={"user": "bob"}),
        }[change]
        clash = NewEvent(
            event_type=changed.event_type,
            data=changed.data,
            metadata=changed.metadata,
            event_id=stored.event_id,
        )
        with pytest.raises(DuplicateEventError) as raised:
            await store.append_events("Account-1", [clash], expected_version=0)
        assert raised.value.event_id == stored.event_id
        assert await store.stream_version("Account-1") == 1

    async def test_same_id_in_another_stream_is_rejected(self, store: EventStore) -> None:
        stored = new()
        await store.append_events("Account-1", [stored], expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_events("Account-2", [stored], expected_version=0)
        assert await store.stream_version("Account-2") == 0

    async def test_batch_partly_stored_is_rejected(self, store: EventStore) -> None:
        batch = numbered(2)
        await store.append_events("Account-1", batch, expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_events("Account-1", [*batch, new()], expected_version=0)
        assert await store.stream_version("Account-1") == 2

    async def test_batch_stored_in_another_order_is_rejected(self, store: EventStore) -> None:
        batch = numbered(2)
        await store.append_events("Account-1", batch, expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_events("Account-1", batch[::-1], expected_version=0)
        assert await store.stream_version("Account-1") == 2

    async def test_retry_with_an_expected_version_the_original_did_not_have_is_rejected(
        self, store: EventStore
    ) -> None:
        batch = numbered(2)
        await store.append_events("Account-1", batch, expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_events("Account-1", batch, expected_version=2)
        assert await store.stream_version("Account-1") == 2

"""Store contract: what a store lists for operators' tools, its streams and checkpoints."""

from __future__ import annotations

import pytest

from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores import DEFAULT_BATCH_SIZE, EventStore, StreamInfo
from eventsourcing_kit.testing._contract_support import collect, numbered

__all__ = ["ListingContract"]


async def _listed(
    store: EventStore, *, category: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> list[StreamInfo]:
    return [stream async for stream in store.list_streams(category=category, batch_size=batch_size)]


class ListingContract:
    """`list_streams` and `list_checkpoints`: every stream and subscription, once."""

    # --- streams ---------------------------------------------------------------

    async def test_an_empty_store_lists_no_stream(self, store: EventStore) -> None:
        assert await _listed(store) == []

    async def test_each_stream_is_listed_once_with_its_version(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(3))
        await store.append_events("Cart-9", numbered(1))
        await store.append_events("Account-1", numbered(2, start=4))
        listed = await _listed(store)
        assert sorted(listed, key=lambda stream: stream.stream_id) == [
            StreamInfo(stream_id="Account-1", version=5),
            StreamInfo(stream_id="Cart-9", version=1),
        ]

    async def test_listed_streams_filter_by_category(self, store: EventStore) -> None:
        for stream_id in ("Account-1", "Cart-1", "Account-2", "Accounting-1", "Account"):
            await store.append_events(stream_id, numbered(1))
        listed = await _listed(store, category="Account")
        names = sorted(stream.stream_id for stream in listed)
        assert names == ["Account", "Account-1", "Account-2"]
        assert {stream.category for stream in listed} == {"Account"}

    async def test_listing_pages_through_more_streams_than_a_batch(self, store: EventStore) -> None:
        names = [f"Account-{n}" for n in range(7)]
        for name in names:
            await store.append_events(name, numbered(1))
        listed = await _listed(store, batch_size=2)
        assert sorted(stream.stream_id for stream in listed) == names

    async def test_a_stream_with_an_odd_id_is_listed(self, store: EventStore) -> None:
        odd = "Ordér-'; DROP TABLE events; --\u00a0✓"
        await store.append_events(odd, numbered(2))
        assert await _listed(store, category="Ordér") == [StreamInfo(stream_id=odd, version=2)]

    async def test_listing_a_malformed_category_fails_at_the_call(self, store: EventStore) -> None:
        with pytest.raises(InvalidInputError):
            store.list_streams(category="Account-1")

    # --- checkpoints -------------------------------------------------------------

    async def test_an_empty_store_lists_no_checkpoint(self, store: EventStore) -> None:
        assert await store.list_checkpoints() == {}

    async def test_every_stored_checkpoint_is_listed_by_subscription(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(2))
        first, second = [event.position for event in await collect(store.read_all())]
        await store.save_checkpoint("reports", second)
        await store.save_checkpoint("emails", first)
        await store.save_checkpoint("rebuild", store.start_position)
        listed = await store.list_checkpoints()
        assert listed == {"emails": first, "rebuild": store.start_position, "reports": second}
        assert list(listed) == ["emails", "rebuild", "reports"]

    async def test_a_deleted_checkpoint_is_not_listed(self, store: EventStore) -> None:
        await store.save_checkpoint("reports", store.start_position)
        await store.save_checkpoint("emails", store.start_position)
        await store.delete_checkpoint("reports")
        assert list(await store.list_checkpoints()) == ["emails"]

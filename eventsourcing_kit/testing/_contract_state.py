"""Store contract: snapshots, subscription checkpoints, stream versions and the head."""

from __future__ import annotations

from typing import Any

import pytest

from eventsourcing_kit.errors import (
    InvalidInputError,
    InvalidStreamIdError,
    SerializationError,
)
from eventsourcing_kit.stores import (
    EventStore,
    Position,
)
from eventsourcing_kit.testing._contract_support import (
    append_numbered,
    collect,
    numbered,
    same_json,
    snapshot,
)

__all__ = ["StateContract"]


class StateContract:
    """What a store keeps beside the log, and what it says about the log."""

    # --- snapshots -------------------------------------------------------------

    async def test_loading_a_missing_snapshot_gives_none(self, store: EventStore) -> None:
        await store.save_snapshot(snapshot(3, "Account-2"))
        assert await store.load_snapshot("Account-1") is None

    async def test_snapshot_round_trips(self, store: EventStore) -> None:
        saved = snapshot(3, ratio=0.5)
        await store.save_snapshot(saved)
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert (loaded.stream_id, loaded.version, loaded.state_schema) == (
            "Account-1",
            3,
            "Account:1",
        )
        assert same_json(dict(loaded.data), dict(saved.data))

    async def test_loaded_snapshot_has_a_timezone_aware_recorded_at(
        self, store: EventStore
    ) -> None:
        await store.save_snapshot(snapshot(3))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert loaded.recorded_at is not None
        assert loaded.recorded_at.utcoffset() is not None

    async def test_newer_snapshot_replaces_older(self, store: EventStore) -> None:
        await store.save_snapshot(snapshot(3, balance=3))
        await store.save_snapshot(snapshot(7, balance=7))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert (loaded.version, loaded.data["balance"]) == (7, 7)

    async def test_older_snapshot_does_not_replace_newer(self, store: EventStore) -> None:
        await store.save_snapshot(snapshot(7, balance=7))
        await store.save_snapshot(snapshot(3, balance=3))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert (loaded.version, loaded.data["balance"]) == (7, 7)

    async def test_snapshots_are_kept_per_stream(self, store: EventStore) -> None:
        await store.save_snapshot(snapshot(3, "Account-1", balance=1))
        await store.save_snapshot(snapshot(9, "Account-2", balance=2))
        one = await store.load_snapshot("Account-1")
        two = await store.load_snapshot("Account-2")
        assert one is not None
        assert two is not None
        assert [(one.version, one.data["balance"]), (two.version, two.data["balance"])] == [
            (3, 1),
            (9, 2),
        ]

    async def test_save_snapshot_rejects_a_bad_stream_id(self, store: EventStore) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.save_snapshot(snapshot(3, ""))

    async def test_save_snapshot_rejects_unserializable_data(self, store: EventStore) -> None:
        with pytest.raises(SerializationError):
            await store.save_snapshot(snapshot(3, tags={"a"}))
        assert await store.load_snapshot("Account-1") is None

    async def test_load_snapshot_rejects_a_bad_stream_id(self, store: EventStore) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.load_snapshot("x" * 256)

    # --- checkpoints -----------------------------------------------------------

    async def _positions(self, store: EventStore, count: int) -> list[Position]:
        await append_numbered(store, "Account-1", count)
        return [e.position for e in await collect(store.read_all())]

    async def test_loading_a_missing_checkpoint_gives_none(self, store: EventStore) -> None:
        assert await store.load_checkpoint("projection") is None

    async def test_checkpoint_round_trips(self, store: EventStore) -> None:
        [position] = await self._positions(store, 1)
        await store.save_checkpoint("projection", position)
        assert await store.load_checkpoint("projection") == position

    async def test_saved_checkpoint_resumes_read_all(self, store: EventStore) -> None:
        positions = await self._positions(store, 3)
        await store.save_checkpoint("projection", positions[0])
        loaded = await store.load_checkpoint("projection")
        rest = await collect(store.read_all(from_position=loaded))
        assert [e.position for e in rest] == positions[1:]

    async def test_saving_a_checkpoint_again_overwrites_it(self, store: EventStore) -> None:
        first, _, third = await self._positions(store, 3)
        await store.save_checkpoint("projection", first)
        await store.save_checkpoint("projection", third)
        assert await store.load_checkpoint("projection") == third

    async def test_checkpoints_are_kept_per_subscription(self, store: EventStore) -> None:
        first, second = await self._positions(store, 2)
        await store.save_checkpoint("one", first)
        await store.save_checkpoint("two", second)
        assert [await store.load_checkpoint("one"), await store.load_checkpoint("two")] == [
            first,
            second,
        ]

    async def test_deleted_checkpoint_loads_as_none(self, store: EventStore) -> None:
        [position] = await self._positions(store, 1)
        await store.save_checkpoint("projection", position)
        await store.delete_checkpoint("projection")
        assert await store.load_checkpoint("projection") is None

    async def test_deleting_a_missing_checkpoint_is_harmless(self, store: EventStore) -> None:
        await store.delete_checkpoint("projection")
        assert await store.load_checkpoint("projection") is None

    async def test_checkpoint_transaction_stores_the_position_on_success(
        self, store: EventStore
    ) -> None:
        [position] = await self._positions(store, 1)
        async with store.checkpoint_transaction("projection") as transaction:
            transaction.save(position)
        assert await store.load_checkpoint("projection") == position

    async def test_checkpoint_transaction_stores_nothing_when_the_block_raises(
        self, store: EventStore
    ) -> None:
        first, second = await self._positions(store, 2)
        await store.save_checkpoint("projection", first)

        class HandlerFailed(Exception):
            pass

        async def handle_and_fail() -> None:
            async with store.checkpoint_transaction("projection") as transaction:
                transaction.save(second)
                raise HandlerFailed

        with pytest.raises(HandlerFailed):
            await handle_and_fail()
        assert await store.load_checkpoint("projection") == first

    async def test_checkpoint_transaction_without_save_keeps_the_checkpoint(
        self, store: EventStore
    ) -> None:
        [position] = await self._positions(store, 1)
        await store.save_checkpoint("projection", position)
        async with store.checkpoint_transaction("projection"):
            pass
        assert await store.load_checkpoint("projection") == position

    @pytest.mark.parametrize("subscription_id", ["", "x" * 256, "sub\n", 42], ids=repr)
    async def test_checkpoints_reject_a_bad_subscription_id(
        self, store: EventStore, subscription_id: Any
    ) -> None:
        [position] = await self._positions(store, 1)
        with pytest.raises(InvalidInputError):
            await store.save_checkpoint(subscription_id, position)
        with pytest.raises(InvalidInputError):
            await store.load_checkpoint(subscription_id)

    @pytest.mark.parametrize("position", [-1, "1", True, 1.5, None], ids=repr)
    async def test_save_checkpoint_rejects_a_bad_position(
        self, store: EventStore, position: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await store.save_checkpoint("projection", position)
        assert await store.load_checkpoint("projection") is None

    # --- versions and the head --------------------------------------------------

    async def test_head_position_of_an_empty_store_is_none(self, store: EventStore) -> None:
        assert await store.head_position() is None

    async def test_head_position_is_the_last_events_position(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2))
        result = await store.append_events("Order-1", numbered(3))
        last = (await collect(store.read_all()))[-1]
        assert await store.head_position() == last.position == result.position

    async def test_stream_version_of_a_missing_stream_is_zero(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2))
        assert await store.stream_version("Account-2") == 0

    async def test_stream_version_counts_the_streams_events(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2))
        await store.append_events("Account-2", numbered(4))
        await store.append_events("Account-1", numbered(3))
        assert await store.stream_version("Account-1") == 5

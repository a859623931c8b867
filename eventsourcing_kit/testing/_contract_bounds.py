"""Store contract: versions and positions are 64-bit; floats round-trip or are refused."""

from __future__ import annotations

import pytest

from eventsourcing_kit.errors import (
    ConcurrencyError,
    InvalidExpectedVersionError,
    InvalidInputError,
    SerializationError,
)
from eventsourcing_kit.stores import MAX_INT64, EventStore, Snapshot
from eventsourcing_kit.testing._contract_support import collect, new, numbered

__all__ = ["BoundsContract"]


class BoundsContract:
    """The same named errors on every backend, before anything is sent."""

    async def test_an_expected_version_beyond_64_bits_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidExpectedVersionError):
            await store.append_events("Account-1", numbered(1), expected_version=MAX_INT64 + 1)
        assert await store.head_position() is None

    async def test_an_append_past_the_largest_64_bit_version_is_refused(
        self, store: EventStore
    ) -> None:
        with pytest.raises(InvalidInputError, match="no room"):
            await store.append_events("Account-1", numbered(2), expected_version=MAX_INT64 - 1)
        assert await store.head_position() is None

    async def test_an_expected_version_near_the_64_bit_limit_is_a_conflict_not_an_error(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyError):
            await store.append_events("Account-1", numbered(1), expected_version=MAX_INT64 - 1)

    async def test_a_from_version_beyond_64_bits_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_stream("Account-1", from_version=MAX_INT64 + 1))

    async def test_reading_from_the_largest_64_bit_version_reads_nothing(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(1))
        assert await collect(store.read_stream("Account-1", from_version=MAX_INT64)) == []

    @pytest.mark.parametrize("position", [MAX_INT64 + 1, 2**64, -(2**63) - 1], ids=repr)
    async def test_a_position_beyond_64_bits_is_refused(
        self, store: EventStore, position: int
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_all(from_position=position))  # type: ignore[arg-type]
        with pytest.raises(InvalidInputError):
            await store.save_checkpoint("projection", position)  # type: ignore[arg-type]

    async def test_a_snapshot_version_beyond_64_bits_is_refused(self, store: EventStore) -> None:
        snapshot = Snapshot(stream_id="Account-1", version=MAX_INT64 + 1, state_schema="s", data={})
        with pytest.raises(InvalidInputError):
            await store.save_snapshot(snapshot)

    @pytest.mark.parametrize(
        "data",
        [{"x": -0.0}, {"xs": [1.0, -0.0]}, {"nested": {"x": -0.0}}],
        ids=["top", "in-list", "nested"],
    )
    async def test_negative_zero_is_refused_everywhere(
        self, store: EventStore, data: dict[str, object]
    ) -> None:
        # JSONB keeps no negative zero: refused on every backend rather than
        # changed into 0.0 on one of them.
        with pytest.raises(SerializationError, match=r"-0\.0"):
            await store.append_events("Account-1", [new(data=data)])
        assert await store.head_position() is None

    async def test_a_string_that_looks_like_negative_zero_is_kept(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new(data={"text": "-0.0"})])
        [event] = await collect(store.read_stream("Account-1"))
        assert event.data == {"text": "-0.0"}

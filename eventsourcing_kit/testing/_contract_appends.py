"""Store contract: what an append writes, expected versions, atomic batches."""

from __future__ import annotations

import itertools
import math
from typing import Any
from uuid import uuid4

import hypothesis
import pytest
from hypothesis import strategies as st

from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidEventError,
    SerializationError,
)
from eventsourcing_kit.stores import (
    EventStore,
    ExpectedVersion,
)
from eventsourcing_kit.testing._contract_support import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    UNSERIALIZABLE_DATA,
    collect,
    json_text,
    json_values,
    new,
    numbered,
    same_json,
)

__all__ = ["AppendContract"]


class AppendContract:
    """Appends: versions, positions, payload round trips, expected versions, atomicity."""

    # --- append: what every event gets ----------------------------------------

    async def test_append_returns_the_stream_version_after_it(self, store: EventStore) -> None:
        first = await store.append_events("Account-1", numbered(2), expected_version=0)
        second = await store.append_events("Account-1", numbered(3), expected_version=2)
        assert (first.stream_id, first.version) == ("Account-1", 2)
        assert (second.stream_id, second.version) == ("Account-1", 5)

    async def test_versions_start_at_one_and_are_contiguous(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        await store.append_events("Account-2", numbered(1), expected_version=0)
        await store.append_events("Account-1", numbered(3, start=3), expected_version=2)
        events = await collect(store.read_stream("Account-1"))
        assert [e.version for e in events] == [1, 2, 3, 4, 5]
        assert [e.data["n"] for e in events] == [1, 2, 3, 4, 5]

    async def test_recorded_events_keep_the_given_id_type_and_stream(
        self, store: EventStore
    ) -> None:
        given = [new("Opened", {"n": 1}), new("Deposited", {"n": 2})]
        await store.append_events("Account-1", given, expected_version=0)
        events = await collect(store.read_stream("Account-1"))
        assert [(e.event_id, e.event_type, e.stream_id) for e in events] == [
            (g.event_id, g.event_type, "Account-1") for g in given
        ]

    async def test_global_positions_are_unique_and_increase_in_read_all_order(
        self, store: EventStore
    ) -> None:
        for n in range(4):
            await store.append_events(f"Account-{n % 2}", numbered(2), expected_version=ANY)
        positions = [e.global_position for e in await collect(store.read_all())]
        assert len(positions) == 8
        assert all(isinstance(p, int) for p in positions)
        assert positions == sorted(set(positions))

    async def test_positions_increase_in_read_all_order(self, store: EventStore) -> None:
        for n in range(4):
            await store.append_events(f"Account-{n % 2}", numbered(2), expected_version=ANY)
        positions: list[Any] = [e.position for e in await collect(store.read_all())]
        assert len(positions) == 8
        assert all(a < b for a, b in itertools.pairwise(positions))

    async def test_append_result_points_at_the_last_event_written(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        result = await store.append_events("Account-2", numbered(3), expected_version=0)
        last = (await collect(store.read_all()))[-1]
        assert (result.global_position, result.position) == (last.global_position, last.position)

    async def test_recorded_at_is_timezone_aware(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(1), expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert event.recorded_at.utcoffset() is not None

    async def test_metadata_round_trips(self, store: EventStore) -> None:
        metadata = {
            "correlation_id": str(uuid4()),
            "causation_id": str(uuid4()),
            "user": "ada",
            "tags": ["a", "b"],
            "nested": {"depth": 2},
        }
        await store.append_events("Account-1", [new(metadata=metadata)], expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert same_json(dict(event.metadata), metadata)

    async def test_metadata_defaults_to_empty(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new()], expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert dict(event.metadata) == {}

    async def test_nested_and_unicode_data_round_trips_exactly(self, store: EventStore) -> None:
        data = {
            "name": "Zoë 日本語 🙂 \"quoted\" 'single' \\ back\nline\ttab",
            "nested": {"list": [1, "two", None, True, False, {"deep": []}], "empty": {}},
            "unicode key ü": "value",
        }
        await store.append_events("Account-1", [new(data=data)], expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert same_json(dict(event.data), data)

    async def test_64_bit_integers_round_trip_exactly(self, store: EventStore) -> None:
        data = {"max": 2**63 - 1, "min": -(2**63), "zero": 0, "past_double": 2**53 + 1}
        await store.append_events("Account-1", [new(data=data)], expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert same_json(dict(event.data), data)

    async def test_floats_round_trip_exactly_and_stay_floats(self, store: EventStore) -> None:
        data = {
            "tenth": 0.1,
            "whole": 2.0,
            "negative": -2.5,
            "tiny": 5e-324,
            "small": 1e-7,
            "huge": 1e300,
            "max": 1.7976931348623157e308,
            "pi": math.pi,
        }
        await store.append_events("Account-1", [new(data=data)], expected_version=0)
        [event] = await collect(store.read_stream("Account-1"))
        assert same_json(dict(event.data), data)

    async def test_nul_in_data_round_trips_or_is_rejected_as_serialization_error(
        self, store: EventStore
    ) -> None:
        # JSON allows U+0000 in strings; some databases' JSON types do not. A
        # backend may refuse it, but only with the kit's error, never a driver's.
        data = {"text": "a\x00b"}
        try:
            await store.append_events("Account-1", [new(data=data)], expected_version=0)
        except SerializationError:
            assert await store.head_position() is None
        else:
            [event] = await collect(store.read_stream("Account-1"))
            assert same_json(dict(event.data), data)

    # The store outlives the examples (function_scoped_fixture): each example
    # writes its own stream. Every backend's subclass runs this one method
    # (differing_executors): its saved examples are valid JSON for all of them.
    @hypothesis.settings(
        suppress_health_check=[
            hypothesis.HealthCheck.function_scoped_fixture,
            hypothesis.HealthCheck.differing_executors,
        ]
    )
    @hypothesis.given(data=st.dictionaries(json_text, json_values(), max_size=5))
    async def test_any_json_object_round_trips_exactly(
        self, store: EventStore, data: dict[str, Any]
    ) -> None:
        stream_id = f"Json-{uuid4()}"
        await store.append_events(stream_id, [new(data=data)], expected_version=0)
        [event] = await collect(store.read_stream(stream_id))
        assert same_json(dict(event.data), data)

    async def test_mutating_what_was_appended_does_not_change_the_log(
        self, store: EventStore
    ) -> None:
        data: dict[str, Any] = {"items": [1]}
        await store.append_events("Account-1", [new(data=data)], expected_version=0)
        data["items"].append(2)
        [event] = await collect(store.read_stream("Account-1"))
        assert event.data == {"items": [1]}

    # --- expected version ------------------------------------------------------

    async def test_expected_zero_accepts_a_new_stream(self, store: EventStore) -> None:
        result = await store.append_events("Account-1", numbered(1), expected_version=0)
        assert result.version == 1

    async def test_expected_zero_rejects_an_existing_stream(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(1), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_events("Account-1", numbered(1), expected_version=0)
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "Account-1",
            0,
            1,
        )

    async def test_exact_expected_version_accepts_the_current_version(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        result = await store.append_events("Account-1", numbered(1), expected_version=3)
        assert result.version == 4

    @pytest.mark.parametrize("expected", [1, 2, 4, 100])
    async def test_exact_expected_version_rejects_any_other_version(
        self, store: EventStore, expected: int
    ) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_events("Account-1", numbered(1), expected_version=expected)
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "Account-1",
            expected,
            3,
        )

    async def test_exact_expected_version_rejects_a_missing_stream(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_events("Account-1", numbered(1), expected_version=2)
        assert (raised.value.expected, raised.value.actual) == (2, 0)

    async def test_no_stream_accepts_a_new_stream(self, store: EventStore) -> None:
        result = await store.append_events("Account-1", numbered(2), expected_version=NO_STREAM)
        assert result.version == 2

    async def test_no_stream_rejects_an_existing_stream(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_events("Account-1", numbered(1), expected_version=NO_STREAM)
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "Account-1",
            NO_STREAM,
            2,
        )

    async def test_stream_exists_accepts_an_existing_stream(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        result = await store.append_events("Account-1", numbered(1), expected_version=STREAM_EXISTS)
        assert result.version == 3

    async def test_stream_exists_rejects_a_missing_stream(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_events("Account-1", numbered(1), expected_version=STREAM_EXISTS)
        assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
            "Account-1",
            STREAM_EXISTS,
            0,
        )

    async def test_any_accepts_a_new_stream(self, store: EventStore) -> None:
        result = await store.append_events("Account-1", numbered(2), expected_version=ANY)
        assert result.version == 2

    async def test_any_accepts_an_existing_stream(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        result = await store.append_events("Account-1", numbered(1), expected_version=ANY)
        assert result.version == 3

    async def test_expected_version_defaults_to_any(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2))
        result = await store.append_events("Account-1", numbered(1))
        assert result.version == 3

    @pytest.mark.parametrize("expected", [0, 5, NO_STREAM], ids=["zero", "five", "no-stream"])
    async def test_rejected_append_writes_nothing(
        self, store: EventStore, expected: int | ExpectedVersion
    ) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        before = await collect(store.read_all())
        with pytest.raises(ConcurrencyError):
            await store.append_events("Account-1", numbered(3), expected_version=expected)
        assert await collect(store.read_all()) == before
        assert await store.stream_version("Account-1") == 2

    async def test_rejected_stream_exists_append_creates_no_stream(self, store: EventStore) -> None:
        with pytest.raises(ConcurrencyError):
            await store.append_events("Account-1", numbered(1), expected_version=STREAM_EXISTS)
        assert await store.stream_version("Account-1") == 0
        assert await store.head_position() is None

    # --- atomic batches --------------------------------------------------------

    @pytest.mark.parametrize("data", UNSERIALIZABLE_DATA)
    async def test_batch_with_one_unserializable_payload_writes_nothing(
        self, store: EventStore, data: dict[Any, Any]
    ) -> None:
        batch = [*numbered(2), new(data=data), *numbered(1, start=3)]
        with pytest.raises(SerializationError):
            await store.append_events("Account-1", batch, expected_version=0)
        assert await store.stream_version("Account-1") == 0
        assert await store.head_position() is None

    async def test_batch_with_a_duplicate_event_id_writes_nothing(self, store: EventStore) -> None:
        event_id = uuid4()
        batch = [new(event_id=event_id), new(), new(event_id=event_id)]
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", batch, expected_version=0)
        assert await store.head_position() is None

    async def test_batch_holding_an_id_stored_elsewhere_writes_nothing(
        self, store: EventStore
    ) -> None:
        stored = new()
        await store.append_events("Account-1", [stored], expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_events("Account-2", [new(), stored, new()], expected_version=0)
        assert await store.stream_version("Account-2") == 0
        assert len(await collect(store.read_all())) == 1

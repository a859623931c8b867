"""The shared input checks: what their errors carry and say.

The store contract proves every backend rejects bad input; these tests pin
what a user sees when it does (attributes to react on, messages to act on).
They reach the checks as users and backend authors do: through a store, or
through `eventsourcing_kit.stores.driver.prepare_write` where the encoded
bytes are the point.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import MappingProxyType
from uuid import uuid4

import pytest

from eventsourcing_kit import MemoryEventStore
from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
)
from eventsourcing_kit.stores import (
    ExpectedVersion,
    NewEvent,
    Snapshot,
    validate_category,
    validate_event_types,
    validate_stream_id,
)
from eventsourcing_kit.stores.driver import PreparedEvent, expected_version_holds, prepare_write

ANY = ExpectedVersion.ANY
NO_STREAM = ExpectedVersion.NO_STREAM
STREAM_EXISTS = ExpectedVersion.STREAM_EXISTS


@pytest.fixture
async def store() -> AsyncIterator[MemoryEventStore]:
    async with MemoryEventStore() as store:
        yield store


def prepared(events: object) -> tuple[PreparedEvent, ...]:
    """`events` checked and encoded as an append of them would be."""
    return prepare_write("Account-1", events, ANY).events


def test_invalid_stream_id_error_carries_the_id_and_the_reason() -> None:
    with pytest.raises(InvalidStreamIdError) as raised:
        validate_stream_id("Account-\n1")
    assert raised.value.stream_id == "Account-\n1"
    assert "control" in raised.value.reason


def test_an_oversized_stream_id_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidStreamIdError) as raised:
        validate_stream_id("x" * 10_000)
    assert "10000 characters" in str(raised.value)
    assert len(str(raised.value)) < 300


def test_a_stream_id_of_255_characters_is_valid() -> None:
    assert validate_stream_id("é" * 255) == "é" * 255


def test_input_errors_are_value_errors() -> None:
    # Callers that only know the built-ins can still catch bad input.
    with pytest.raises(ValueError, match="stream id"):
        validate_stream_id("")


async def test_invalid_expected_version_error_is_a_type_error_naming_the_choices(
    store: MemoryEventStore,
) -> None:
    with pytest.raises(TypeError) as raised:
        await store.append_events(
            "Account-1",
            [NewEvent("Happened", {})],
            expected_version="1",  # type: ignore[arg-type]
        )
    assert isinstance(raised.value, InvalidExpectedVersionError)
    assert raised.value.expected_version == "1"
    assert "ExpectedVersion.ANY" in str(raised.value)


@pytest.mark.parametrize(
    ("expected", "actual", "accepted"),
    [
        (0, 0, True),
        (0, 1, False),
        (3, 3, True),
        (3, 2, False),
        (3, 4, False),
        (NO_STREAM, 0, True),
        (NO_STREAM, 1, False),
        (STREAM_EXISTS, 1, True),
        (STREAM_EXISTS, 0, False),
        (ANY, 0, True),
        (ANY, 7, True),
    ],
)
def test_the_expected_version_rule_accepts_exactly_the_matching_states(
    expected: int | ExpectedVersion, actual: int, accepted: bool
) -> None:
    assert expected_version_holds(expected, actual) is accepted


def test_concurrency_error_names_the_stream_and_both_versions() -> None:
    message = str(ConcurrencyError("Account-1", expected=NO_STREAM, actual=4))
    assert "'Account-1'" in message
    assert "ExpectedVersion.NO_STREAM" in message
    assert "version 4" in message


async def test_a_bad_event_is_named_by_its_index(store: MemoryEventStore) -> None:
    with pytest.raises(InvalidEventError, match=r"events\[1\]"):
        await store.append_events("Account-1", [NewEvent("Happened", {}), "Happened"])  # type: ignore[list-item]


def test_preparing_events_accepts_a_generator_once() -> None:
    encoded = prepared(NewEvent("Happened", {"n": n}) for n in range(3))
    assert [event.data for event in encoded] == [b'{"n":0}', b'{"n":1}', b'{"n":2}']


def test_event_types_filter_is_materialised_once() -> None:
    assert validate_event_types(t for t in ["A", "B"]) == ("A", "B")


def test_a_bare_string_event_types_filter_suggests_a_list() -> None:
    with pytest.raises(InvalidInputError, match=r"\['Deposited'\]"):
        validate_event_types("Deposited")


@pytest.mark.parametrize("category", ["", "Account-1", 42])
def test_validate_category_rejects_what_cannot_be_a_category(category: object) -> None:
    with pytest.raises(InvalidInputError):
        validate_category(category)


async def test_a_rejected_append_none_of_whose_ids_is_stored_is_a_conflict_not_a_retry(
    store: MemoryEventStore,
) -> None:
    await store.append_events("Account-1", [NewEvent("Happened", {})], expected_version=0)
    with pytest.raises(ConcurrencyError) as raised:
        await store.append_events("Account-1", [NewEvent("Happened", {})], expected_version=0)
    assert (raised.value.expected, raised.value.actual) == (0, 1)
    assert await store.stream_version("Account-1") == 1


def test_duplicate_event_error_says_what_clashed() -> None:
    event_id = uuid4()
    error = DuplicateEventError(event_id, stream_id="Account-1", detail="it has other content")
    assert str(event_id) in str(error)
    assert "other content" in str(error)
    assert (error.event_id, error.stream_id) == (event_id, "Account-1")


def test_a_stream_id_may_hold_any_printable_space() -> None:
    for stream_id in ("Account-\u00a0x", "Account-\u3000x", "Account-a b"):
        assert validate_stream_id(stream_id) == stream_id


def test_a_lone_surrogate_in_a_stream_id_is_refused() -> None:
    with pytest.raises(InvalidStreamIdError, match="control characters"):
        validate_stream_id("Account-\ud800")


async def test_an_unordered_set_of_events_is_refused(store: MemoryEventStore) -> None:
    with pytest.raises(InvalidEventError, match="unordered set"):
        await store.append_events("Account-1", frozenset({"not even an event"}))  # type: ignore[arg-type]


def test_a_read_only_mapping_is_encoded_like_a_dict() -> None:
    [event] = prepared(
        [NewEvent("A", MappingProxyType({"x": 1}), metadata=MappingProxyType({"m": 2}))]
    )
    assert (event.data, event.metadata) == (b'{"x":1}', b'{"m":2}')


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (Snapshot(stream_id="A-1", version=-1, state_schema="s", data={}), "snapshot version"),
        (Snapshot(stream_id="A-1", version=True, state_schema="s", data={}), "snapshot version"),
        (Snapshot(stream_id="A-1", version=1, state_schema=3, data={}), "state_schema"),  # type: ignore[arg-type]
        (Snapshot(stream_id="A-1", version=1, state_schema="s", data=[]), "must be a dict"),  # type: ignore[arg-type]
        (Snapshot(stream_id="", version=1, state_schema="s", data={}), "empty"),
    ],
)
async def test_a_malformed_snapshot_is_refused(
    store: MemoryEventStore, snapshot: Snapshot, message: str
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        await store.save_snapshot(snapshot)

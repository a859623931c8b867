"""The conformance suite every event store backend must pass.

Subclass `StoreContract` in a test module (its name does not start with
``Test``, so pytest collects only your subclass) and give it a ``store``
fixture::

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            store = await connect(f"mystore:///{tmp_path}/events")
            yield store
            await store.close()

Optional fixtures, each None by default (their tests are then skipped):

- ``reopen``: a factory ``async () -> EventStore`` opening a second store
  object on the same storage (another connection, another file handle).
  The tests that use it check persistence and concurrency between handles.
  It closes what it opened when the test ends.
- ``store_url``: the URL that `connect` opens the same kind of store with,
  for the tests of ``async with connect(url)``.

The tests use the public API only and run under pytest-asyncio (the class
carries the ``asyncio`` mark, so strict mode works too). For pytest's rich
assertion messages, call ``pytest.register_assert_rewrite("eventsourcing_kit.testing")``
in your conftest.py before importing this package.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeAlias
from uuid import uuid4

import hypothesis
import pytest
from hypothesis import strategies as st

from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
    SerializationError,
    StoreClosedError,
)
from eventsourcing_kit.stores import (
    AppendResult,
    EventStore,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
    connect,
)

__all__ = ["Reopen", "StoreContract"]

Reopen: TypeAlias = Callable[[], Awaitable[EventStore]]
"""Opens another store object on the storage of the ``store`` fixture."""

ANY = ExpectedVersion.ANY
NO_STREAM = ExpectedVersion.NO_STREAM
STREAM_EXISTS = ExpectedVersion.STREAM_EXISTS

# The default page size of the readers (stores/_base.py); reading a few more
# than this many events crosses a page boundary with the default batch_size.
_DEFAULT_PAGE = 500


def new(event_type: str = "Happened", data: dict[str, Any] | None = None, **kw: Any) -> NewEvent:
    """A new event with `data` (default: an empty dict)."""
    return NewEvent(event_type=event_type, data={} if data is None else data, **kw)


def numbered(count: int, *, event_type: str = "Happened", start: int = 1) -> list[NewEvent]:
    """`count` new events whose data says which one they are."""
    return [new(event_type, {"n": n}) for n in range(start, start + count)]


async def collect(events: AsyncIterable[RecordedEvent]) -> list[RecordedEvent]:
    """Everything a reader yields, in order."""
    return [event async for event in events]


def same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values, with the same types at every level.

    Plain ``==`` says ``1 == 1.0 == True``; a store that turns a float into an
    int (or the reverse) changes the data, so the types are compared too.
    """
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_json, left, right))
    return bool(left == right)


# NUL is left to its own test: JSON allows it, some databases' JSON types do not.
_json_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


def _json_values() -> st.SearchStrategy[Any]:
    text = _json_text
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.floats(allow_nan=False, allow_infinity=False)
        | text
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )


_BAD_STREAM_IDS = [
    pytest.param("", id="empty"),
    pytest.param("x" * 256, id="256-chars"),
    pytest.param("Account-\n1", id="newline"),
    pytest.param("Account-\x001", id="nul"),
    pytest.param("Account-\x7f", id="del"),
    pytest.param(42, id="int"),
    pytest.param(None, id="none"),
    pytest.param(b"Account-1", id="bytes"),
]

_ODD_STREAM_IDS = [
    pytest.param('Account-it\'s "quoted"', id="quotes"),
    pytest.param("Account-1; DROP TABLE events; --", id="semicolon"),
    pytest.param(" Account-with  spaces ", id="spaces"),
    pytest.param("Kontoöffnung-日本語-🙂", id="unicode"),
    pytest.param("Account-%_\\*?[]", id="wildcards"),
    pytest.param("A-" + "x" * 253, id="255-chars"),
    pytest.param("é" * 255, id="255-non-ascii-chars"),
]

_UNSERIALIZABLE_DATA = [
    pytest.param({"tags": {"a", "b"}}, id="set"),
    pytest.param({"amount": float("nan")}, id="nan"),
    pytest.param({"amount": float("inf")}, id="infinity"),
    pytest.param({"nested": [{"amount": -float("inf")}]}, id="nested-infinity"),
    pytest.param({1: "int key"}, id="int-key"),
    pytest.param({"big": 2**64}, id="int-beyond-64-bits"),
    pytest.param({"raw": b"bytes"}, id="bytes"),
    pytest.param({"thing": object()}, id="object"),
    pytest.param({"text": "\ud800"}, id="lone-surrogate"),
]


class StoreContract:
    """The behaviour every `EventStore` backend guarantees, one test per rule.

    See the module docstring for the fixtures a subclass provides.
    """

    pytestmark = [pytest.mark.asyncio]

    # --- fixtures a backend provides -----------------------------------------

    @pytest.fixture
    def store(self) -> EventStore:
        """A fresh, empty store, closed after the test: override it."""
        raise NotImplementedError(
            f"{type(self).__name__} subclasses StoreContract but defines no `store` fixture; "
            "add one that yields a fresh, empty EventStore and closes it afterwards"
        )

    @pytest.fixture
    def reopen(self) -> Reopen | None:
        """Opens a second store object on the same storage; None if impossible."""
        return None

    @pytest.fixture
    def store_url(self) -> str | None:
        """The URL `connect` opens this kind of store with; None to skip those tests."""
        return None

    @pytest.fixture
    def second(self, reopen: Reopen | None) -> Reopen:
        """`reopen`, or a skip for backends without it."""
        if reopen is None:
            pytest.skip("this backend cannot open a second store object on the same storage")
        return reopen

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

    @hypothesis.settings(suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
    @hypothesis.given(data=st.dictionaries(_json_text, _json_values(), max_size=5))
    async def test_any_json_object_round_trips_exactly(
        self, store: EventStore, data: dict[str, Any]
    ) -> None:
        # The store outlives the examples; each example writes its own stream.
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

    # --- atomic batches --------------------------------------------------------

    @pytest.mark.parametrize("data", _UNSERIALIZABLE_DATA)
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

    # --- read_stream -----------------------------------------------------------

    async def test_read_stream_yields_only_that_stream_oldest_first(
        self, store: EventStore
    ) -> None:
        for n in range(1, 4):
            await store.append_events("Account-1", numbered(1, start=n), expected_version=ANY)
            await store.append_events("Account-2", numbered(1, start=n), expected_version=ANY)
        events = await collect(store.read_stream("Account-1"))
        assert [(e.stream_id, e.version, e.data["n"]) for e in events] == [
            ("Account-1", 1, 1),
            ("Account-1", 2, 2),
            ("Account-1", 3, 3),
        ]

    async def test_read_stream_starts_at_from_version_inclusive(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        events = await collect(store.read_stream("Account-1", from_version=3))
        assert [e.version for e in events] == [3, 4, 5]

    async def test_read_stream_past_its_end_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        assert await collect(store.read_stream("Account-1", from_version=3)) == []

    async def test_read_stream_of_a_missing_stream_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        assert await collect(store.read_stream("Account-2")) == []

    async def test_read_stream_matches_the_stream_id_exactly(self, store: EventStore) -> None:
        for stream_id in ("Account-1", "Account-10", "account-1", "Account-1 "):
            await store.append_events(stream_id, numbered(1), expected_version=0)
        events = await collect(store.read_stream("Account-1"))
        assert [e.stream_id for e in events] == ["Account-1"]

    @pytest.mark.parametrize("stream_id", _ODD_STREAM_IDS)
    async def test_any_printable_stream_id_up_to_255_chars_works(
        self, store: EventStore, stream_id: str
    ) -> None:
        await store.append_events(stream_id, numbered(2), expected_version=0)
        await store.append_events("Other-1", numbered(1), expected_version=0)
        events = await collect(store.read_stream(stream_id))
        assert [(e.stream_id, e.version) for e in events] == [(stream_id, 1), (stream_id, 2)]
        assert await store.stream_version(stream_id) == 2

    @pytest.mark.parametrize("stream_id", _ODD_STREAM_IDS)
    async def test_any_printable_stream_id_is_read_by_its_category(
        self, store: EventStore, stream_id: str
    ) -> None:
        category = stream_id.partition("-")[0]
        await store.append_events(stream_id, numbered(2), expected_version=0)
        await store.append_events("Other-1", numbered(1), expected_version=0)
        events = await collect(store.read_category(category))
        assert [(e.stream_id, e.version) for e in events] == [(stream_id, 1), (stream_id, 2)]

    # --- read_all and read_category -------------------------------------------

    async def test_read_all_yields_every_event_in_append_order(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        await store.append_events("Order-1", numbered(1, start=3), expected_version=0)
        await store.append_events("Account-1", numbered(2, start=4), expected_version=2)
        events = await collect(store.read_all())
        assert [(e.stream_id, e.data["n"]) for e in events] == [
            ("Account-1", 1),
            ("Account-1", 2),
            ("Order-1", 3),
            ("Account-1", 4),
            ("Account-1", 5),
        ]

    async def test_read_all_of_an_empty_store_yields_nothing(self, store: EventStore) -> None:
        assert await collect(store.read_all()) == []

    async def test_read_all_resumes_after_each_position_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(f"Account-{n % 3}", numbered(2), expected_version=ANY)
        events = await collect(store.read_all())
        for index, event in enumerate(events):
            rest = await collect(store.read_all(from_position=event.position))
            assert rest == events[index + 1 :], f"resumed after event {index}"

    async def test_read_all_from_the_head_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        head = await store.head_position()
        assert head is not None
        assert await collect(store.read_all(from_position=head)) == []

    async def test_read_all_filters_by_event_types(self, store: EventStore) -> None:
        await store.append_events(
            "Account-1",
            [new("Opened"), new("Deposited"), new("Withdrawn"), new("Deposited")],
            expected_version=0,
        )
        await store.append_events("Order-1", [new("Placed"), new("Withdrawn")], expected_version=0)
        events = await collect(store.read_all(event_types=["Deposited", "Placed"]))
        assert [(e.stream_id, e.version, e.event_type) for e in events] == [
            ("Account-1", 2, "Deposited"),
            ("Account-1", 4, "Deposited"),
            ("Order-1", 1, "Placed"),
        ]

    async def test_read_all_accepts_any_iterable_of_event_types(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        from_set = await collect(store.read_all(event_types={"Deposited"}))
        from_generator = await collect(store.read_all(event_types=(t for t in ["Deposited"])))
        assert [e.event_type for e in from_set] == [e.event_type for e in from_generator]
        assert [e.event_type for e in from_set] == ["Deposited"]

    async def test_read_all_with_no_event_types_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        assert await collect(store.read_all(event_types=[])) == []

    async def test_read_all_filtered_resumes_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(
                f"Account-{n % 2}", [new("Deposited"), new("Noise")], expected_version=ANY
            )
        wanted = await collect(store.read_all(event_types=["Deposited"]))
        assert len(wanted) == 6
        for index, event in enumerate(wanted):
            rest = await collect(
                store.read_all(from_position=event.position, event_types=["Deposited"])
            )
            assert rest == wanted[index + 1 :], f"resumed after event {index}"

    async def test_read_category_yields_only_streams_of_that_category(
        self, store: EventStore
    ) -> None:
        for stream_id in ("Account-1", "Accounts-1", "AccountX-1", "Account-2-b", "Order-1"):
            await store.append_events(stream_id, numbered(1), expected_version=0)
        await store.append_events("Account-1", numbered(1, start=2), expected_version=1)
        events = await collect(store.read_category("Account"))
        assert [(e.stream_id, e.version) for e in events] == [
            ("Account-1", 1),
            ("Account-2-b", 1),
            ("Account-1", 2),
        ]

    async def test_a_stream_id_without_a_dash_is_its_own_category(self, store: EventStore) -> None:
        await store.append_events("Account", numbered(1), expected_version=0)
        await store.append_events("Accounting-1", numbered(1), expected_version=0)
        events = await collect(store.read_category("Account"))
        assert [e.stream_id for e in events] == ["Account"]

    @pytest.mark.parametrize(
        ("category", "other"),
        [("A_c", "Abc-1"), ("A%", "Abc-1"), ("A.c", "Abc-1"), ("A*", "Abc-1"), ("a", "A-1")],
        ids=["underscore", "percent", "dot", "star", "case"],
    )
    async def test_read_category_matches_the_category_literally(
        self, store: EventStore, category: str, other: str
    ) -> None:
        await store.append_events(other, numbered(1), expected_version=0)
        await store.append_events(f"{category}-1", numbered(1), expected_version=0)
        events = await collect(store.read_category(category))
        assert [e.stream_id for e in events] == [f"{category}-1"]

    async def test_read_category_filters_by_event_types(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        await store.append_events("Order-1", [new("Deposited")])
        await store.append_events("Account-2", [new("Deposited"), new("Closed")])
        events = await collect(store.read_category("Account", event_types=["Deposited"]))
        assert [(e.stream_id, e.event_type) for e in events] == [
            ("Account-1", "Deposited"),
            ("Account-2", "Deposited"),
        ]

    async def test_read_category_resumes_after_each_position_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(f"Account-{n % 2}", numbered(1), expected_version=ANY)
            await store.append_events(f"Order-{n % 2}", numbered(1), expected_version=ANY)
        events = await collect(store.read_category("Account"))
        assert len(events) == 6
        for index, event in enumerate(events):
            rest = await collect(store.read_category("Account", from_position=event.position))
            assert rest == events[index + 1 :], f"resumed after event {index}"

    async def test_read_category_positions_resume_read_all(self, store: EventStore) -> None:
        # A subscription to one category may later widen to everything: the
        # positions it stored must mean the same thing to read_all.
        await store.append_events("Account-1", numbered(2), expected_version=0)
        await store.append_events("Order-1", numbered(2), expected_version=0)
        [first, _] = await collect(store.read_category("Account"))
        rest = await collect(store.read_all(from_position=first.position))
        assert [(e.stream_id, e.version) for e in rest] == [
            ("Account-1", 2),
            ("Order-1", 1),
            ("Order-1", 2),
        ]

    # --- paging ---------------------------------------------------------------

    async def test_read_stream_pages_through_more_than_one_page(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(10), expected_version=0)
        events = await collect(store.read_stream("Account-1", batch_size=3))
        assert [e.version for e in events] == list(range(1, 11))

    async def test_read_all_pages_through_more_than_one_page(self, store: EventStore) -> None:
        for n in range(10):
            await store.append_events(f"Account-{n % 3}", numbered(1, start=n))
        events = await collect(store.read_all(batch_size=3))
        assert [e.data["n"] for e in events] == list(range(10))

    async def test_read_category_pages_through_more_than_one_page(self, store: EventStore) -> None:
        for n in range(10):
            await store.append_events(f"Account-{n % 3}", numbered(1, start=n))
            await store.append_events("Order-1", numbered(1, start=n))
        events = await collect(store.read_category("Account", batch_size=3))
        assert [e.data["n"] for e in events] == list(range(10))

    async def test_read_all_pages_past_long_runs_of_filtered_out_events(
        self, store: EventStore
    ) -> None:
        # A reader that stops at the first page the filter leaves empty loses the rest.
        for n in range(5):
            await store.append_events("Account-1", [new("Noise") for _ in range(7)])
            await store.append_events("Account-1", [new("Wanted", {"n": n})])
        events = await collect(store.read_all(event_types=["Wanted"], batch_size=3))
        assert [e.data["n"] for e in events] == list(range(5))

    async def test_read_category_pages_past_long_runs_of_other_categories(
        self, store: EventStore
    ) -> None:
        for n in range(5):
            await store.append_events("Order-1", numbered(7))
            await store.append_events("Account-1", numbered(1, start=n))
        events = await collect(store.read_category("Account", batch_size=3))
        assert [e.data["n"] for e in events] == list(range(5))

    async def test_readers_page_past_the_default_page_size(self, store: EventStore) -> None:
        count = _DEFAULT_PAGE + 3
        await store.append_events("Account-1", numbered(count), expected_version=0)
        in_stream = await collect(store.read_stream("Account-1"))
        in_all = await collect(store.read_all())
        in_category = await collect(store.read_category("Account"))
        expected = list(range(1, count + 1))
        assert [e.data["n"] for e in in_stream] == expected
        assert [e.data["n"] for e in in_all] == expected
        assert [e.data["n"] for e in in_category] == expected

    async def test_read_all_interleaved_with_appends_neither_skips_nor_repeats(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        seen: list[RecordedEvent] = []
        async for event in store.read_all(batch_size=2):
            seen.append(event)
            if len(seen) <= 6:
                await store.append_events(f"Other-{len(seen)}", numbered(1))
        everything = await collect(store.read_all())
        assert len(seen) >= 5
        assert seen == everything[: len(seen)]
        rest = await collect(store.read_all(from_position=seen[-1].position))
        assert seen + rest == everything

    async def test_read_stream_interleaved_with_appends_neither_skips_nor_repeats(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        seen: list[RecordedEvent] = []
        async for event in store.read_stream("Account-1", batch_size=2):
            seen.append(event)
            if len(seen) <= 6:
                await store.append_events("Account-1", numbered(1, start=5 + len(seen)))
        assert len(seen) >= 5
        assert [e.version for e in seen] == list(range(1, len(seen) + 1))
        rest = await collect(store.read_stream("Account-1", from_version=len(seen) + 1))
        assert [e.version for e in seen + rest] == list(range(1, 12))

    # --- input validation ------------------------------------------------------

    @pytest.mark.parametrize("stream_id", _BAD_STREAM_IDS)
    async def test_append_rejects_a_bad_stream_id(self, store: EventStore, stream_id: Any) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.append_events(stream_id, numbered(1), expected_version=ANY)
        assert await store.head_position() is None

    @pytest.mark.parametrize("stream_id", _BAD_STREAM_IDS)
    async def test_read_stream_rejects_a_bad_stream_id(
        self, store: EventStore, stream_id: Any
    ) -> None:
        with pytest.raises(InvalidStreamIdError):
            await collect(store.read_stream(stream_id))

    @pytest.mark.parametrize("stream_id", _BAD_STREAM_IDS)
    async def test_stream_version_rejects_a_bad_stream_id(
        self, store: EventStore, stream_id: Any
    ) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.stream_version(stream_id)

    @pytest.mark.parametrize("expected", [True, False, -1, "1", 1.0, "any"], ids=repr)
    async def test_append_rejects_a_bad_expected_version(
        self, store: EventStore, expected: Any
    ) -> None:
        with pytest.raises(InvalidExpectedVersionError):
            await store.append_events("Account-1", numbered(1), expected_version=expected)
        assert await store.head_position() is None

    @pytest.mark.parametrize(
        "events",
        [
            pytest.param([], id="empty-list"),
            pytest.param((), id="empty-tuple"),
            pytest.param(new(), id="bare-new-event"),
            pytest.param([{"event_type": "Happened", "data": {}}], id="dict-item"),
            pytest.param([new(), ("Happened", {})], id="tuple-item"),
            pytest.param([new(), None], id="none-item"),
            pytest.param("Happened", id="str"),
            pytest.param(None, id="none"),
        ],
    )
    async def test_append_rejects_a_batch_that_is_not_a_list_of_new_events(
        self, store: EventStore, events: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", events, expected_version=ANY)
        assert await store.head_position() is None

    @pytest.mark.parametrize(
        "data", [[1, 2], "text", None, 42, [("a", 1)]], ids=["list", "str", "none", "int", "pairs"]
    )
    async def test_append_rejects_data_that_is_not_a_dict(
        self, store: EventStore, data: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events(
                "Account-1", [new(), NewEvent(event_type="Happened", data=data)]
            )
        assert await store.head_position() is None

    async def test_append_rejects_metadata_that_is_not_a_dict(self, store: EventStore) -> None:
        bad = NewEvent(event_type="Happened", data={}, metadata=[("user", "ada")])  # type: ignore[arg-type]
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [bad])
        assert await store.head_position() is None

    @pytest.mark.parametrize("data", _UNSERIALIZABLE_DATA)
    async def test_append_rejects_unserializable_data(
        self, store: EventStore, data: dict[Any, Any]
    ) -> None:
        with pytest.raises(SerializationError):
            await store.append_events("Account-1", [new(data=data)])
        assert await store.head_position() is None

    async def test_append_rejects_unserializable_metadata(self, store: EventStore) -> None:
        with pytest.raises(SerializationError):
            await store.append_events("Account-1", [new(metadata={"at": {1, 2}})])
        assert await store.head_position() is None

    @pytest.mark.parametrize(
        "event_type",
        [
            pytest.param("", id="empty"),
            pytest.param("x" * 256, id="256-chars"),
            pytest.param("Happened\n", id="newline"),
            pytest.param(42, id="int"),
            pytest.param(None, id="none"),
        ],
    )
    async def test_append_rejects_a_bad_event_type(
        self, store: EventStore, event_type: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [NewEvent(event_type=event_type, data={})])
        assert await store.head_position() is None

    async def test_append_rejects_an_event_id_that_is_not_a_uuid(self, store: EventStore) -> None:
        bad = NewEvent(event_type="Happened", data={}, event_id=str(uuid4()))  # type: ignore[arg-type]
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [bad])
        assert await store.head_position() is None

    @pytest.mark.parametrize("from_version", [0, -1, True, "1", 1.0], ids=repr)
    async def test_read_stream_rejects_a_bad_from_version(
        self, store: EventStore, from_version: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_stream("Account-1", from_version=from_version))

    _READERS: dict[str, Callable[..., AsyncIterator[RecordedEvent]]] = {
        "read_stream": lambda store, **kw: store.read_stream("Account-1", **kw),
        "read_all": lambda store, **kw: store.read_all(**kw),
        "read_category": lambda store, **kw: store.read_category("Account", **kw),
    }
    _FILTERING_READERS = ["read_all", "read_category"]

    @pytest.mark.parametrize("reader", sorted(_READERS))
    @pytest.mark.parametrize("batch_size", [0, -1, True, 1.5, "10"], ids=repr)
    async def test_readers_reject_a_bad_batch_size(
        self, store: EventStore, reader: str, batch_size: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, batch_size=batch_size))

    @pytest.mark.parametrize("reader", _FILTERING_READERS)
    @pytest.mark.parametrize(
        "event_types",
        [
            pytest.param("Deposited", id="bare-str"),
            pytest.param(42, id="int"),
            pytest.param([""], id="empty-name"),
            pytest.param([42], id="int-name"),
        ],
    )
    async def test_readers_reject_bad_event_types(
        self, store: EventStore, reader: str, event_types: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, event_types=event_types))

    @pytest.mark.parametrize("reader", _FILTERING_READERS)
    @pytest.mark.parametrize("from_position", [-1, "1", True, 1.5, [1]], ids=repr)
    async def test_readers_reject_a_bad_from_position(
        self, store: EventStore, reader: str, from_position: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, from_position=from_position))

    @pytest.mark.parametrize("category", ["", "Account-1", 42, None, "Acc\nount"], ids=repr)
    async def test_read_category_rejects_a_bad_category(
        self, store: EventStore, category: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_category(category))

    # --- snapshots -------------------------------------------------------------

    @staticmethod
    def _snapshot(version: int, stream_id: str = "Account-1", **data: Any) -> Snapshot:
        return Snapshot(
            stream_id=stream_id,
            version=version,
            state_schema="Account:1",
            data={"balance": 10, "owner": "Zoë", "tags": ["a"], **data},
        )

    async def test_loading_a_missing_snapshot_gives_none(self, store: EventStore) -> None:
        await store.save_snapshot(self._snapshot(3, "Account-2"))
        assert await store.load_snapshot("Account-1") is None

    async def test_snapshot_round_trips(self, store: EventStore) -> None:
        saved = self._snapshot(3, ratio=0.5)
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
        await store.save_snapshot(self._snapshot(3))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert loaded.recorded_at is not None
        assert loaded.recorded_at.utcoffset() is not None

    async def test_newer_snapshot_replaces_older(self, store: EventStore) -> None:
        await store.save_snapshot(self._snapshot(3, balance=3))
        await store.save_snapshot(self._snapshot(7, balance=7))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert (loaded.version, loaded.data["balance"]) == (7, 7)

    async def test_older_snapshot_does_not_replace_newer(self, store: EventStore) -> None:
        await store.save_snapshot(self._snapshot(7, balance=7))
        await store.save_snapshot(self._snapshot(3, balance=3))
        loaded = await store.load_snapshot("Account-1")
        assert loaded is not None
        assert (loaded.version, loaded.data["balance"]) == (7, 7)

    async def test_snapshots_are_kept_per_stream(self, store: EventStore) -> None:
        await store.save_snapshot(self._snapshot(3, "Account-1", balance=1))
        await store.save_snapshot(self._snapshot(9, "Account-2", balance=2))
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
            await store.save_snapshot(self._snapshot(3, ""))

    async def test_save_snapshot_rejects_unserializable_data(self, store: EventStore) -> None:
        with pytest.raises(SerializationError):
            await store.save_snapshot(self._snapshot(3, tags={"a"}))
        assert await store.load_snapshot("Account-1") is None

    async def test_load_snapshot_rejects_a_bad_stream_id(self, store: EventStore) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.load_snapshot("x" * 256)

    # --- checkpoints -----------------------------------------------------------

    async def _positions(self, store: EventStore, count: int) -> list[Position]:
        await store.append_events("Account-1", numbered(count))
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
        await store.append_events("Account-1", numbered(1))
        assert await store.wait_for_events(timeout=0.05) is False

    # --- lifecycle --------------------------------------------------------------

    _OPERATIONS: dict[str, Callable[[EventStore], Awaitable[Any]]] = {
        "append_events": lambda s: s.append_events("Account-1", numbered(1)),
        "read_stream": lambda s: collect(s.read_stream("Account-1")),
        "read_all": lambda s: collect(s.read_all()),
        "read_category": lambda s: collect(s.read_category("Account")),
        "stream_version": lambda s: s.stream_version("Account-1"),
        "head_position": lambda s: s.head_position(),
        "save_snapshot": lambda s: s.save_snapshot(StoreContract._snapshot(1)),
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
        await store.save_snapshot(self._snapshot(2))
        events = await collect(store.read_all())
        await store.save_checkpoint("projection", events[1].position)
        await store.close()
        reopened = await second()
        assert await collect(reopened.read_all()) == events
        snapshot = await reopened.load_snapshot("Account-1")
        assert snapshot is not None
        assert snapshot.version == 2
        assert await reopened.load_checkpoint("projection") == events[1].position

    async def test_expected_version_is_checked_against_the_other_handles_writes(
        self, store: EventStore, second: Reopen
    ) -> None:
        other = await second()
        await store.append_events("Account-1", numbered(2), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await other.append_events("Account-1", numbered(1), expected_version=0)
        assert raised.value.actual == 2

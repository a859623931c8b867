"""Every backend agrees with a trivially correct model under random operations.

The reference model below is plain Python lists and dicts, written from the
store's documented rules, and shares no code with any backend. Each step runs
the same operation on the backend and on the model and compares everything:
versions, event ids, data, metadata, positions, and the class of any error.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any
from uuid import UUID

import attrs
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test
from property_support import budget

from eventsourcing_kit import EventStore, ExpectedVersion, NewEvent, Snapshot
from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    EventSourcingError,
    InvalidEventError,
)
from eventsourcing_kit.stores import Position, RecordedEvent, StreamAppend
from eventsourcing_kit.testing import StoreFactory


def _no_negative_zero(value: float) -> float:
    # Stores refuse -0.0 (JSONB cannot keep it); adding 0.0 turns it into 0.0.
    return value + 0.0


STREAMS = ("Account-1", "Account-2", "Order-1-a", "Odd 'quoted'; ü-1", "Order")
CATEGORIES = ("Account", "Order", "Odd 'quoted'; ü", "Missing")
EVENT_TYPES = ("Opened", "Deposited", "Noted")
SUBSCRIPTIONS = ("projection", "report")
SCHEMAS = ("1:aaaa", "2:bbbb")
BATCH_SIZES = st.sampled_from([1, 2, 3, 500])

# What a JSON object can hold and give back exactly: no NUL in strings
# (PostgreSQL's jsonb refuses it), ints within 64 bits, finite floats.
json_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False).map(_no_negative_zero),
    json_text,
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(json_text, children, max_size=3)
    ),
    max_leaves=6,
)
json_objects = st.dictionaries(json_text, json_values, max_size=3)
new_events = st.builds(
    NewEvent,
    event_type=st.sampled_from(EVENT_TYPES),
    data=json_objects,
    metadata=json_objects,
    event_id=st.uuids(),
)


# --- the reference model -----------------------------------------------------------


@attrs.frozen
class Stored:
    """What the model keeps of one event, and what is compared of a backend's."""

    stream_id: str
    version: int
    event_type: str
    data: Any
    metadata: Any
    event_id: UUID


@attrs.frozen
class Refused:
    """An operation that must fail, with the error class (and version) it must raise."""

    error: type[EventSourcingError]
    actual: int | None = None


class ReferenceStore:
    """The store's documented behaviour in the plainest Python."""

    def __init__(self) -> None:
        self.log: list[Stored] = []
        self.snapshots: dict[str, tuple[int, str, Any]] = {}
        self.checkpoints: dict[str, int] = {}  # how many events of the log a reader saw

    def version(self, stream_id: str) -> int:
        return sum(1 for event in self.log if event.stream_id == stream_id)

    def append(
        self, stream_id: str, events: list[NewEvent], expected: int | ExpectedVersion
    ) -> int | Refused:
        """The index in the log of the batch's last event, or how the append fails."""
        ids = [event.event_id for event in events]
        if len(set(ids)) != len(ids):
            return Refused(InvalidEventError)
        index_of = {event.event_id: index for index, event in enumerate(self.log)}
        known = [index_of.get(event_id) for event_id in ids]
        if any(index is not None for index in known):
            return self._retry(stream_id, events, expected, known)
        actual = self.version(stream_id)
        if not _satisfies(expected, actual):
            return Refused(ConcurrencyError, actual)
        for offset, event in enumerate(events, start=1):
            self.log.append(
                Stored(
                    stream_id,
                    actual + offset,
                    event.event_type,
                    event.data,
                    event.metadata,
                    event.event_id,
                )
            )
        return len(self.log) - 1

    def _retry(
        self,
        stream_id: str,
        events: list[NewEvent],
        expected: int | ExpectedVersion,
        known: list[int | None],
    ) -> int | Refused:
        # A retry of an earlier append: the same events, all stored, in this
        # stream, in this order, and the same expectation. Anything else is a
        # reuse of ids and refused.
        if None in known:
            return Refused(DuplicateEventError)
        stored = [self.log[index] for index in known if index is not None]
        same = all(
            (s.stream_id, s.event_type, s.data, s.metadata, s.version)
            == (stream_id, e.event_type, e.data, e.metadata, stored[0].version + n)
            for n, (s, e) in enumerate(zip(stored, events, strict=True))
        )
        if not same or not _satisfies(expected, stored[0].version - 1):
            return Refused(DuplicateEventError)
        last = known[-1]
        assert last is not None
        return last

    def append_many(
        self, writes: list[tuple[str, list[NewEvent], int | ExpectedVersion]]
    ) -> list[int] | Refused:
        """The log index of each write's last event, or how the whole append fails."""
        ids = [event.event_id for _, events, _ in writes for event in events]
        if len(set(ids)) != len(ids):
            return Refused(InvalidEventError)
        index_of = {event.event_id: index for index, event in enumerate(self.log)}
        if any(event_id in index_of for event_id in ids):
            # Only a retry of a whole earlier multi-stream append succeeds.
            retried = [
                self._retry(stream_id, events, expected, [index_of.get(e.event_id) for e in events])
                for stream_id, events, expected in writes
            ]
            if all(isinstance(index, int) for index in retried):
                return [index for index in retried if isinstance(index, int)]
            return Refused(DuplicateEventError)
        size = len(self.log)
        last: list[int] = []
        for stream_id, events, expected in writes:
            outcome = self.append(stream_id, events, expected)
            if isinstance(outcome, Refused):
                del self.log[size:]  # all or nothing
                return outcome
            last.append(outcome)
        return last

    def save_snapshot(self, stream_id: str, version: int, schema: str, data: Any) -> None:
        current = self.snapshots.get(stream_id)
        if current is None or version >= current[0]:
            self.snapshots[stream_id] = (version, schema, data)


def _satisfies(expected: int | ExpectedVersion, actual: int) -> bool:
    if expected is ExpectedVersion.ANY:
        return True
    if expected is ExpectedVersion.NO_STREAM:
        return actual == 0
    if expected is ExpectedVersion.STREAM_EXISTS:
        return actual > 0
    return actual == expected


def stored_form(record: RecordedEvent) -> Stored:
    return Stored(
        record.stream_id,
        record.version,
        record.event_type,
        record.data,
        record.metadata,
        record.event_id,
    )


async def collect(records: AsyncIterator[RecordedEvent]) -> list[RecordedEvent]:
    return [record async for record in records]


# --- the machine ------------------------------------------------------------------------

OpenStore = Callable[[], Awaitable[EventStore]]


class StoreAgreesWithModel(RuleBasedStateMachine):
    """Random operations on a backend and on the model; they must always agree."""

    open_store: OpenStore

    def __init__(self) -> None:
        super().__init__()
        self.model = ReferenceStore()
        self.positions: list[Position] = []  # the backend's position of each logged event
        self.global_positions: list[int] = []
        self.appends: list[tuple[str, list[NewEvent], int | ExpectedVersion, int]] = []
        self.multi_appends: list[list[tuple[str, list[NewEvent], int | ExpectedVersion]]] = []
        self.runner: asyncio.Runner | None = None
        self.store: EventStore | None = None

    @initialize(
        seed=st.lists(
            st.tuples(st.sampled_from(STREAMS), st.lists(new_events, min_size=1, max_size=3)),
            max_size=8,
        )
    )
    def open(self, seed: list[tuple[str, list[NewEvent]]]) -> None:
        # Hypothesis has no async state machine: one event loop per test case.
        self.runner = asyncio.Runner()
        self.store = self.runner.run(type(self).open_store())
        # Start from a log of a few streams, so that short runs still read,
        # retry and conflict on something.
        for stream_id, batch in seed:
            self.check_append(stream_id, batch, self.model.version(stream_id))

    def teardown(self) -> None:
        if self.runner is not None:
            if self.store is not None:
                self.runner.run(self.store.close())
            self.runner.close()

    def call(self, operation: Callable[[EventStore], Awaitable[Any]]) -> Any:
        assert self.runner is not None and self.store is not None
        return self.runner.run(operation(self.store))

    def attempt(self, operation: Callable[[EventStore], Awaitable[Any]]) -> Any:
        """The operation's result, or the EventSourcingError it raised."""
        try:
            return self.call(operation)
        except EventSourcingError as error:
            return error

    def position_before(self, index: int) -> Position | None:
        """The resume token after which reading starts at log event `index`."""
        return None if index == 0 else self.positions[index - 1]

    # --- appends ---------------------------------------------------------------------

    @rule(data=st.data(), stream_id=st.sampled_from(STREAMS))
    def append(self, data: st.DataObject, stream_id: str) -> None:
        actual = self.model.version(stream_id)
        # Mostly expectations that hold, so that streams grow; the rest conflict.
        expected = data.draw(
            st.one_of(
                st.just(actual),
                st.just(ExpectedVersion.ANY),
                st.sampled_from(list(ExpectedVersion)),
                st.sampled_from([actual + 1, max(actual - 1, 0), 0]),
                st.integers(min_value=0, max_value=6),
            ),
            label="expected_version",
        )
        batch = data.draw(st.lists(new_events, min_size=1, max_size=3), label="events")
        self.check_append(stream_id, batch, expected)

    @rule(data=st.data())
    def retry_an_earlier_append(self, data: st.DataObject) -> None:
        if not self.appends:
            return
        stream_id, batch, expected, _ = data.draw(st.sampled_from(self.appends), label="append")
        self.check_append(stream_id, batch, expected)

    @rule(data=st.data(), stream_id=st.sampled_from(STREAMS))
    def reuse_a_stored_event_id(self, data: st.DataObject, stream_id: str) -> None:
        if not self.model.log:
            return
        old = data.draw(st.sampled_from(self.model.log), label="stored event")
        fresh = data.draw(new_events, label="new event")
        how = data.draw(
            st.sampled_from(["other content", "same content", "beside a new event", "twice"]),
            label="how",
        )
        if how == "other content":
            batch = [attrs.evolve(fresh, event_id=old.event_id)]
        elif how == "same content":
            batch = [NewEvent(old.event_type, old.data, old.metadata, old.event_id)]
        elif how == "beside a new event":
            batch = [fresh, NewEvent(old.event_type, old.data, old.metadata, old.event_id)]
        else:  # the same new id twice in one append
            batch = [fresh, fresh]
        expected = data.draw(
            st.sampled_from([ExpectedVersion.ANY, self.model.version(stream_id)]), label="expected"
        )
        self.check_append(stream_id, batch, expected)

    @rule(
        data=st.data(),
        streams=st.lists(st.sampled_from(STREAMS), min_size=2, max_size=3, unique=True),
    )
    def append_to_several_streams(self, data: st.DataObject, streams: list[str]) -> None:
        writes = []
        for stream_id in streams:
            actual = self.model.version(stream_id)
            expected = data.draw(
                st.one_of(st.just(actual), st.sampled_from([*ExpectedVersion, actual + 1])),
                label=f"expected_version of {stream_id}",
            )
            batch = data.draw(st.lists(new_events, min_size=1, max_size=2), label="events")
            writes.append((stream_id, batch, expected))
        self.check_append_many(writes)

    @rule(data=st.data())
    def retry_an_earlier_multi_stream_append(self, data: st.DataObject) -> None:
        if self.multi_appends:
            self.check_append_many(data.draw(st.sampled_from(self.multi_appends), label="append"))

    def check_append_many(
        self, writes: list[tuple[str, list[NewEvent], int | ExpectedVersion]]
    ) -> None:
        log_size = len(self.model.log)
        before = [self.model.version(stream_id) for stream_id, _, _ in writes]
        want = self.model.append_many(writes)
        appends = [
            StreamAppend(stream_id, batch, expected) for stream_id, batch, expected in writes
        ]
        got = self.attempt(lambda s: s.append_many(appends))
        if isinstance(want, Refused):
            assert isinstance(got, want.error), f"expected {want.error.__name__}, got {got!r}"
            if isinstance(got, ConcurrencyError):
                assert got.actual == want.actual
            return
        assert not isinstance(got, Exception), f"expected a successful append, got {got!r}"
        if len(self.model.log) > log_size:
            start = log_size
            for (stream_id, batch, _), version_before in zip(writes, before, strict=True):
                self.learn_positions(stream_id, version_before, start, len(batch))
                start += len(batch)
            self.multi_appends.append(writes)
        for result, index in zip(got, want, strict=True):
            assert (result.version, result.position) == (
                self.model.log[index].version,
                self.positions[index],
            )

    def check_append(
        self, stream_id: str, batch: list[NewEvent], expected: int | ExpectedVersion
    ) -> None:
        log_size = len(self.model.log)
        version_before = self.model.version(stream_id)
        want = self.model.append(stream_id, batch, expected)
        got = self.attempt(lambda s: s.append_events(stream_id, batch, expected_version=expected))
        if isinstance(want, Refused):
            assert isinstance(got, want.error), f"expected {want.error.__name__}, got {got!r}"
            if isinstance(got, ConcurrencyError):
                assert (got.actual, got.expected) == (want.actual, expected)
            return
        assert not isinstance(got, Exception), f"expected a successful append, got {got!r}"
        if len(self.model.log) > log_size:
            self.learn_positions(stream_id, version_before, log_size)
            self.appends.append((stream_id, batch, expected, want))
        last = self.model.log[want]
        assert (got.stream_id, got.version) == (stream_id, last.version)
        assert (got.position, got.global_position) == (
            self.positions[want],
            self.global_positions[want],
        )

    def learn_positions(
        self, stream_id: str, version_before: int, log_size: int, count: int | None = None
    ) -> None:
        new = self.call(
            lambda s: collect(s.read_stream(stream_id, from_version=version_before + 1))
        )
        end = None if count is None else log_size + count
        assert [stored_form(r) for r in new] == self.model.log[log_size:end]
        for record in new:
            if self.positions:
                # One writer at a time: each commit lands after the previous one.
                assert record.position > self.positions[-1]
                assert record.global_position > self.global_positions[-1]
            self.positions.append(record.position)
            self.global_positions.append(record.global_position)

    # --- reads -------------------------------------------------------------------------

    def check_records(self, records: list[RecordedEvent], indexes: list[int]) -> None:
        assert [stored_form(r) for r in records] == [self.model.log[i] for i in indexes]
        assert [r.position for r in records] == [self.positions[i] for i in indexes]
        assert [r.global_position for r in records] == [self.global_positions[i] for i in indexes]

    @rule(
        data=st.data(),
        types=st.none() | st.lists(st.sampled_from([*EVENT_TYPES, "Unknown"]), max_size=2),
        batch_size=BATCH_SIZES,
    )
    def read_all(self, data: st.DataObject, types: list[str] | None, batch_size: int) -> None:
        start = data.draw(st.integers(0, len(self.model.log)), label="from event")
        records = self.call(
            lambda s: collect(
                s.read_all(
                    from_position=self.position_before(start),
                    event_types=types,
                    batch_size=batch_size,
                )
            )
        )
        wanted = [
            i
            for i in range(start, len(self.model.log))
            if types is None or self.model.log[i].event_type in types
        ]
        self.check_records(records, wanted)

    @rule(
        data=st.data(),
        category=st.sampled_from(CATEGORIES),
        types=st.none() | st.lists(st.sampled_from(EVENT_TYPES), min_size=1, max_size=2),
        batch_size=BATCH_SIZES,
    )
    def read_category(
        self, data: st.DataObject, category: str, types: list[str] | None, batch_size: int
    ) -> None:
        start = data.draw(st.integers(0, len(self.model.log)), label="from event")
        records = self.call(
            lambda s: collect(
                s.read_category(
                    category,
                    from_position=self.position_before(start),
                    event_types=types,
                    batch_size=batch_size,
                )
            )
        )
        wanted = [
            i
            for i in range(start, len(self.model.log))
            if self.model.log[i].stream_id.partition("-")[0] == category
            and (types is None or self.model.log[i].event_type in types)
        ]
        self.check_records(records, wanted)

    @rule(data=st.data(), stream_id=st.sampled_from(STREAMS), batch_size=BATCH_SIZES)
    def read_stream(self, data: st.DataObject, stream_id: str, batch_size: int) -> None:
        version = self.model.version(stream_id)
        from_version = data.draw(st.integers(1, version + 2), label="from_version")
        records = self.call(
            lambda s: collect(
                s.read_stream(stream_id, from_version=from_version, batch_size=batch_size)
            )
        )
        wanted = [
            i
            for i, event in enumerate(self.model.log)
            if event.stream_id == stream_id and event.version >= from_version
        ]
        self.check_records(records, wanted)

    @rule(stream_id=st.sampled_from(STREAMS))
    def versions_and_head(self, stream_id: str) -> None:
        assert self.call(lambda s: s.stream_version(stream_id)) == self.model.version(stream_id)
        head = self.call(lambda s: s.head_position())
        assert head == (self.positions[-1] if self.positions else None)

    # --- snapshots and checkpoints --------------------------------------------------------

    @rule(
        data=st.data(),
        stream_id=st.sampled_from(STREAMS),
        schema=st.sampled_from(SCHEMAS),
        state=json_objects,
    )
    def save_snapshot(self, data: st.DataObject, stream_id: str, schema: str, state: Any) -> None:
        version = data.draw(st.integers(1, max(self.model.version(stream_id), 1)), label="version")
        self.model.save_snapshot(stream_id, version, schema, state)
        snapshot = Snapshot(stream_id=stream_id, version=version, state_schema=schema, data=state)
        self.call(lambda s: s.save_snapshot(snapshot))

    @rule(stream_id=st.sampled_from(STREAMS))
    def load_snapshot(self, stream_id: str) -> None:
        got = self.call(lambda s: s.load_snapshot(stream_id))
        want = self.model.snapshots.get(stream_id)
        if want is None:
            assert got is None
        else:
            assert got is not None
            assert (got.stream_id, got.version, got.state_schema, got.data) == (stream_id, *want)

    @rule(data=st.data(), name=st.sampled_from(SUBSCRIPTIONS), in_transaction=st.booleans())
    def save_checkpoint(self, data: st.DataObject, name: str, in_transaction: bool) -> None:
        if not self.positions:
            return
        seen = data.draw(st.integers(1, len(self.positions)), label="events seen")
        position = self.positions[seen - 1]
        self.model.checkpoints[name] = seen

        async def save(store: EventStore) -> None:
            if in_transaction:
                async with store.checkpoint_transaction(name) as transaction:
                    transaction.save(position)
            else:
                await store.save_checkpoint(name, position)

        self.call(save)

    @rule(name=st.sampled_from(SUBSCRIPTIONS))
    def load_checkpoint(self, name: str) -> None:
        got = self.call(lambda s: s.load_checkpoint(name))
        seen = self.model.checkpoints.get(name)
        assert got == (None if seen is None else self.positions[seen - 1])
        if seen is not None:
            # Resuming there reads exactly the events after it.
            after = self.call(lambda s: collect(s.read_all(from_position=got)))
            self.check_records(after, list(range(seen, len(self.model.log))))

    @rule(name=st.sampled_from(SUBSCRIPTIONS))
    def delete_checkpoint(self, name: str) -> None:
        self.model.checkpoints.pop(name, None)
        self.call(lambda s: s.delete_checkpoint(name))


def machine_for(open_store: OpenStore) -> type[StoreAgreesWithModel]:
    return type("Machine", (StoreAgreesWithModel,), {"open_store": staticmethod(open_store)})


# --- one test per backend ---------------------------------------------------------------


# Each example opens a fresh store of its own through store_factory (a new
# SQLite file, a new PostgreSQL schema); the factory closes and drops them all
# when the test ends.


def test_memory_store_agrees_with_the_model(store_factory: StoreFactory) -> None:
    open_store = partial(store_factory.open, "memory")
    run_state_machine_as_test(machine_for(open_store), settings=budget(2.0, steps=50))


def test_sqlite_store_agrees_with_the_model(store_factory: StoreFactory) -> None:
    open_store = partial(store_factory.open, "sqlite")
    run_state_machine_as_test(machine_for(open_store), settings=budget(1.0, steps=40))


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres_dsn")  # skips (fails under CI) before the first example
def test_postgres_store_agrees_with_the_model(store_factory: StoreFactory) -> None:
    open_store = partial(store_factory.open, "postgres", max_size=2)
    run_state_machine_as_test(machine_for(open_store), settings=budget(0.5, steps=30))


@pytest.mark.usefixtures("dynamodb_endpoint")  # skips (fails under CI) before the first example
def test_dynamodb_store_agrees_with_the_model(store_factory: StoreFactory) -> None:
    open_store = partial(store_factory.open, "dynamodb")
    run_state_machine_as_test(machine_for(open_store), settings=budget(0.3, steps=25))

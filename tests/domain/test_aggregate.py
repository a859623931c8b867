"""The aggregate base class: identity, recording, versions, stream ids."""

from __future__ import annotations

import uuid

import attrs
import pytest

from eventsourcing_kit import Aggregate
from eventsourcing_kit.errors import ConfigurationError


@attrs.frozen
class Added:
    amount: int


@attrs.frozen
class Unlisted:
    pass


@attrs.define
class Counter(Aggregate):
    event_types = (Added,)
    total: int = 0

    def add(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.record(Added(amount))

    def apply(self, event: object) -> None:
        match event:
            case Added(amount=amount):
                self.total += amount


def test_a_new_aggregate_has_a_fresh_id_version_zero_and_nothing_pending() -> None:
    first, second = Counter(), Counter()
    assert first.id != second.id
    assert isinstance(first.id, uuid.UUID)
    assert (first.version, first.pending_events) == (0, [])


def test_record_applies_the_event_and_keeps_it_pending() -> None:
    counter = Counter()
    counter.add(3)
    counter.add(4)
    assert counter.total == 7
    assert counter.version == 2
    assert counter.pending_events == [Added(3), Added(4)]


def test_a_refused_command_records_nothing() -> None:
    counter = Counter()
    with pytest.raises(ValueError, match="positive"):
        counter.add(0)
    assert (counter.version, counter.pending_events, counter.total) == (0, [], 0)


def test_stream_id_is_type_dash_id_and_its_prefix_is_the_category() -> None:
    counter = Counter()
    assert counter.stream_id == f"Counter-{counter.id}"
    assert Counter.category() == "Counter"
    assert counter.stream_id.partition("-")[0] == Counter.category()


def test_stream_type_overrides_the_category() -> None:
    @attrs.define
    class Renamed(Counter):
        stream_type = "Tally"

    assert Renamed().stream_id.startswith("Tally-")


def test_a_stream_type_with_a_dash_is_rejected() -> None:
    @attrs.define
    class Bad(Counter):
        stream_type = "my-counter"

    with pytest.raises(ConfigurationError, match="no '-'"):
        _ = Bad().stream_id


def test_recording_an_event_not_listed_in_event_types_is_refused() -> None:
    counter = Counter()
    with pytest.raises(ConfigurationError, match="event_types"):
        counter.record(Unlisted())
    assert counter.version == 0


def test_replay_rebuilds_the_same_state_without_pending_events() -> None:
    original = Counter()
    for amount in (1, 2, 3):
        original.add(amount)
    rebuilt = Counter(id=original.id)
    rebuilt.replay(list(original.pending_events))
    assert rebuilt == original
    assert rebuilt.pending_events == []


def test_an_aggregate_without_apply_says_what_to_define() -> None:
    @attrs.define
    class NoApply(Aggregate):
        event_types = (Added,)

    with pytest.raises(NotImplementedError, match="apply"):
        NoApply().record(Added(1))


@attrs.define
class Changed:
    items: list[str]


def test_an_aggregate_refuses_to_record_a_mutable_event() -> None:
    # Changed after record(), it would be saved unlike what the state applied.
    @attrs.define
    class Lax(Aggregate):
        event_types = (Changed,)

        def apply(self, event: object) -> None:
            pass

    lax = Lax()
    with pytest.raises(ConfigurationError, match=r"Changed is mutable.*@attrs\.frozen"):
        lax.record(Changed(["a"]))
    assert (lax.version, lax.pending_events) == (0, [])

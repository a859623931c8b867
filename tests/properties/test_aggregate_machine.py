"""`AggregateStateMachine` passes a sound aggregate and catches each broken guarantee.

Each broken aggregate below breaks one rule on purpose; the base class must
find it by itself, with no invariant written by the user.
"""

from __future__ import annotations

import itertools

import attrs
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import rule, run_state_machine_as_test

from eventsourcing_kit import Aggregate
from eventsourcing_kit.testing import AggregateStateMachine

FAST = settings(max_examples=30, stateful_step_count=12, deadline=None, database=None)


class Refused(Exception):
    """The domain error of the counters below."""


@attrs.frozen
class Added:
    amount: int


@attrs.frozen
class Tagged:
    tags: tuple[str, ...]


@attrs.define
class Counter(Aggregate):
    event_types = (Added, Tagged)

    total: int = 0
    tags: tuple[str, ...] = ()

    def add(self, amount: int) -> None:
        if amount < 0:
            raise Refused("only positive amounts")
        self.record(Added(amount))

    def tag(self, tags: list[str]) -> None:
        self.record(Tagged(tuple(tags)))

    def apply(self, event: object) -> None:
        match event:
            case Added(amount=amount):
                self.total += amount
            case Tagged(tags=tags):
                self.tags = (*self.tags, *tags)


def machine_for(aggregate: type[Counter]) -> type[AggregateStateMachine[Counter]]:
    class CounterMachine(AggregateStateMachine[Counter]):
        aggregate_type = aggregate
        domain_errors = (Refused,)

        @rule(amount=st.integers(-3, 10))
        def add(self, amount: int) -> None:
            self.run(lambda counter: counter.add(amount))

        @rule(tags=st.lists(st.sampled_from(["a", "b"]), max_size=2))
        def tag(self, tags: list[str]) -> None:
            self.run(lambda counter: counter.tag(tags))

    return CounterMachine


def failure_of(aggregate: type[Counter]) -> str:
    with pytest.raises(AssertionError) as caught:
        run_state_machine_as_test(machine_for(aggregate), settings=FAST)
    return str(caught.value)


def test_a_sound_aggregate_passes_every_check() -> None:
    run_state_machine_as_test(machine_for(Counter), settings=FAST)


_calls = itertools.count()


@attrs.define
class CountsItsCalls(Counter):
    """apply() reads a process-wide counter: replay gives another state."""

    def apply(self, event: object) -> None:
        super().apply(event)
        if isinstance(event, Added) and next(_calls) % 2:
            self.total += 1


def test_an_apply_that_is_not_deterministic_fails_the_replay_check() -> None:
    assert "replaying the recorded events gives another state" in failure_of(CountsItsCalls)


@attrs.define
class SkipsAVersion(Counter):
    """record() moves the version by two."""

    def record(self, event: object) -> None:
        super().record(event)
        self.version += 1


def test_a_version_gap_fails_the_version_check() -> None:
    assert "versions must grow by one per event" in failure_of(SkipsAVersion)


@attrs.define
class StoresAListInATuple(Counter):
    """The event field is declared a tuple but holds a list: it reads back as a tuple."""

    def tag(self, tags: list[str]) -> None:
        self.record(Tagged(tags))  # type: ignore[arg-type]


def test_an_event_that_changes_in_json_fails_the_serialization_check() -> None:
    assert "does not survive serialization" in failure_of(StoresAListInATuple)


@attrs.define
class KeepsAListInState(Counter):
    """The state field is declared a tuple but holds a list: a snapshot reads back a tuple."""

    def apply(self, event: object) -> None:
        super().apply(event)
        self.tags = list(self.tags)  # type: ignore[assignment]


def test_state_that_a_snapshot_changes_fails_the_snapshot_check() -> None:
    assert "does not survive a snapshot" in failure_of(KeepsAListInState)


@attrs.define
class RecordsThenRefuses(Counter):
    """add() records before it checks its rule."""

    def add(self, amount: int) -> None:
        self.record(Added(amount))
        if amount < 0:
            raise Refused("only positive amounts")


def test_a_refused_command_that_recorded_fails_the_refusal_check() -> None:
    assert "left pending events" in failure_of(RecordsThenRefuses)


def test_a_machine_without_aggregate_type_is_a_clear_error() -> None:
    class NoType(AggregateStateMachine[Counter]):
        @rule()
        def nothing(self) -> None:
            pass

    with pytest.raises(TypeError, match="must set `aggregate_type`"):
        NoType()

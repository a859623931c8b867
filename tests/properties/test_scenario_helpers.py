"""given / when / then: passes on the expected events, fails with both lists shown."""

from __future__ import annotations

import attrs
import pytest

from eventsourcing_kit import Aggregate
from eventsourcing_kit.testing import Command, scenario


class Refused(Exception):
    pass


@attrs.frozen
class Added:
    amount: int


@attrs.define
class Counter(Aggregate):
    event_types = (Added,)

    total: int = 0

    def add(self, amount: int) -> None:
        if amount <= 0:
            raise Refused(f"cannot add {amount}")
        self.record(Added(amount))

    def record_then_refuse(self, amount: int) -> None:
        self.record(Added(amount))
        raise Refused("changed my mind")

    def apply(self, event: object) -> None:
        match event:
            case Added(amount=amount):
                self.total += amount


def test_then_returns_the_aggregate_after_the_expected_events() -> None:
    counter = scenario(Counter).given(Added(2)).when(lambda c: c.add(3)).then(Added(3))
    assert (counter.total, counter.version) == (5, 2)


def test_then_shows_expected_and_actual_events_when_they_differ() -> None:
    with pytest.raises(AssertionError) as caught:
        scenario(Counter).given(Added(2)).when(lambda c: c.add(3)).then(Added(4))
    message = str(caught.value)
    assert "expected events:\n  1. Added(amount=4)" in message
    assert "actual events:\n  1. Added(amount=3)" in message
    assert "first difference at event 1" in message


def test_then_reports_a_command_that_raised() -> None:
    with pytest.raises(AssertionError, match="but the command raised Refused"):
        scenario(Counter).when(lambda c: c.add(0)).then(Added(0))


def test_then_raises_returns_the_error() -> None:
    error = scenario(Counter).when(lambda c: c.add(-1)).then_raises(Refused, match="-1")
    assert isinstance(error, Refused)


def test_then_raises_fails_when_the_command_succeeds() -> None:
    with pytest.raises(AssertionError, match="but the command succeeded and recorded"):
        scenario(Counter).when(lambda c: c.add(1)).then_raises(Refused)


def test_then_raises_fails_when_events_were_recorded_before_the_error() -> None:
    with pytest.raises(AssertionError, match="recorded events before it"):
        scenario(Counter).when(lambda c: c.record_then_refuse(1)).then_raises(Refused)


def test_then_raises_fails_on_another_error_type() -> None:
    with pytest.raises(AssertionError, match="expected KeyError, got Refused"):
        scenario(Counter).when(lambda c: c.add(0)).then_raises(KeyError)


def test_a_generated_command_reads_like_a_call_in_the_failure() -> None:
    add_five = Command(Counter.add, {"amount": 5})
    with pytest.raises(AssertionError, match=r"when: add\(amount=5\)"):
        scenario(Counter).when(add_five).then()

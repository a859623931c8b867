"""Given / when / then: example tests of an aggregate's commands, read as a spec."""

from __future__ import annotations

import pprint
import re
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing_kit.domain import Aggregate
from eventsourcing_kit.testing._strategies import Command

__all__ = ["Scenario", "scenario"]

A = TypeVar("A", bound=Aggregate)
E = TypeVar("E", bound=BaseException)


def scenario(aggregate_type: type[A], /, *, aggregate_id: UUID | None = None) -> Scenario[A]:
    """Start an example test of `aggregate_type`'s commands::

        scenario(Account).given(AccountOpened("ann"), Deposited(10)).when(
            lambda account: account.withdraw(4)
        ).then(Withdrawn(4))

        scenario(Account).given(AccountOpened("ann")).when(
            lambda account: account.withdraw(4)
        ).then_raises(InsufficientFunds, match="balance is 0")

    `then` and `then_raises` fail with an `AssertionError` that lists the
    expected and the actual events.
    """
    return Scenario(aggregate_type, aggregate_id=aggregate_id)


class Scenario(Generic[A]):
    """An aggregate built from past events, a command, and what it should record."""

    def __init__(
        self,
        aggregate_type: type[A],
        *,
        aggregate_id: UUID | None = None,
        history: tuple[object, ...] = (),
        command: Callable[[A], object] | None = None,
    ) -> None:
        self.aggregate_type = aggregate_type
        self.aggregate_id = aggregate_id
        self.history = history
        self.command = command

    def given(self, *events: object) -> Scenario[A]:
        """The events already stored for the aggregate, oldest first."""
        return Scenario(
            self.aggregate_type,
            aggregate_id=self.aggregate_id,
            history=(*self.history, *events),
            command=self.command,
        )

    def when(self, command: Callable[[A], object]) -> Scenario[A]:
        """The command to run on the aggregate rebuilt from the given events."""
        return Scenario(
            self.aggregate_type,
            aggregate_id=self.aggregate_id,
            history=self.history,
            command=command,
        )

    def then(self, *expected: object) -> A:
        """Assert the command recorded exactly `expected`, in order; returns the aggregate.

        Use the returned aggregate to assert on its state as well.
        """
        __tracebackhide__ = True
        aggregate, command = self._build()
        try:
            command(aggregate)
        except Exception as error:
            raise AssertionError(
                f"{self._describe()}\n"
                f"expected events:\n{_listing(expected)}\n"
                f"but the command raised {error!r}"
            ) from error
        actual = tuple(aggregate.pending_events)
        if actual != expected:
            raise AssertionError(
                f"{self._describe()}\n"
                f"expected events:\n{_listing(expected)}\n"
                f"actual events:\n{_listing(actual)}\n"
                f"{_first_difference(expected, actual)}"
            )
        return aggregate

    def then_raises(self, error_type: type[E], *, match: str | None = None) -> E:
        """Assert the command raised `error_type` and recorded nothing; returns the error.

        `match` is a regular expression searched in the error's message.
        """
        __tracebackhide__ = True
        aggregate, command = self._build()
        version = aggregate.version
        try:
            command(aggregate)
        except error_type as error:
            if match is not None and not re.search(match, str(error)):
                raise AssertionError(
                    f"{self._describe()}\nexpected {error_type.__qualname__} matching "
                    f"{match!r}, got {error!r}"
                ) from error
            if aggregate.pending_events or aggregate.version != version:
                raise AssertionError(
                    f"{self._describe()}\nthe command raised {error!r} as expected, but "
                    f"recorded events before it:\n{_listing(aggregate.pending_events)}\n"
                    "check the rules before calling record()"
                ) from error
            return error
        except Exception as error:
            raise AssertionError(
                f"{self._describe()}\nexpected {error_type.__qualname__}, got {error!r}"
            ) from error
        raise AssertionError(
            f"{self._describe()}\nexpected {error_type.__qualname__}, but the command "
            f"succeeded and recorded:\n{_listing(aggregate.pending_events)}"
        )

    def _build(self) -> tuple[A, Callable[[A], object]]:
        __tracebackhide__ = True
        if self.command is None:
            raise TypeError("call .when(command) before .then(...) or .then_raises(...)")
        options: dict[str, Any] = {}
        if self.aggregate_id is not None:
            options["id"] = self.aggregate_id
        aggregate = self.aggregate_type(**options)
        try:
            aggregate.replay(list(self.history))
        except Exception as error:
            raise AssertionError(
                f"{self._describe()}\nthe given events do not replay: {error!r}"
            ) from error
        return aggregate, self.command

    def _describe(self) -> str:
        command = self.command
        name = (
            repr(command)
            if command is None or isinstance(command, Command)
            else (_callable_name(command))
        )
        return (
            f"scenario {self.aggregate_type.__qualname__}\n"
            f"given:\n{_listing(self.history)}\n"
            f"when: {name}"
        )


def _callable_name(command: Callable[..., object]) -> str:
    code = getattr(command, "__code__", None)
    name = getattr(command, "__qualname__", repr(command))
    if code is not None:
        return f"{name} ({code.co_filename}:{code.co_firstlineno})"
    return name


def _listing(events: Iterable[object]) -> str:
    lines = [
        f"  {number}. {pprint.pformat(event, width=88)}"
        for number, event in enumerate(events, start=1)
    ]
    return "\n".join(lines) if lines else "  (none)"


def _first_difference(expected: tuple[object, ...], actual: tuple[object, ...]) -> str:
    for number, (want, got) in enumerate(zip(expected, actual, strict=False), start=1):
        if want != got:
            return f"first difference at event {number}: expected {want!r}, got {got!r}"
    if len(expected) > len(actual):
        return f"missing events from number {len(actual) + 1} on"
    return f"unexpected events from number {len(expected) + 1} on"

"""Hypothesis strategies for events, aggregates and command sequences.

Values are drawn from the attrs field types, limited to what the kit's
converter and JSON store exactly: timezone-aware datetimes, finite floats and
Decimals, 64-bit ints, strings without NUL. Any field can be given its own
strategy by name.
"""

from __future__ import annotations

import contextlib
import enum
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar, Union

import attrs
from hypothesis import strategies as st

from eventsourcing_kit.domain import Aggregate

__all__ = ["Command", "aggregates", "command", "commands", "events", "values_of"]


def _no_negative_zero(value: float) -> float:
    # Stores refuse -0.0 (JSONB cannot keep it); adding 0.0 turns it into 0.0.
    return value + 0.0


STORABLE_FLOATS = st.floats(allow_nan=False, allow_infinity=False).map(_no_negative_zero)
"""Floats every store keeps exactly: finite, and no negative zero."""


A = TypeVar("A", bound=Aggregate)
E = TypeVar("E")

# orjson refuses ints outside 64 bits; PostgreSQL's jsonb refuses NUL in strings.
_INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"))
# Fixed offsets only: a zoneinfo datetime in a DST fold or gap compares unequal
# to the same instant read back with a fixed offset (PEP 495).
_TZ = st.one_of(
    st.just(UTC),
    st.builds(
        timezone,
        st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23)).map(
            lambda offset: timedelta(minutes=offset // timedelta(minutes=1))
        ),
    ),
)

_SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    int: _INT64,
    str: _TEXT,
    float: STORABLE_FLOATS,
    Decimal: st.decimals(allow_nan=False, allow_infinity=False),
    # Years away from the ends of the range, where an offset moves the instant out of it.
    datetime: st.datetimes(
        min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=_TZ
    ),
    bytes: st.binary(),
    typing.Any: _TEXT,
    object: _TEXT,
}


def values_of(
    tp: Any, *, overrides: Mapping[str, st.SearchStrategy[Any]] | None = None
) -> st.SearchStrategy[Any]:
    """A strategy for values of the type `tp` that the kit's converter stores exactly.

    Handles the scalar types of `make_converter()`, enums, attrs classes (every
    field drawn, defaults included), tuples, lists, sets, frozensets, dicts
    with str keys and optionals; other types go to `st.from_type`.
    `overrides` only apply to the fields of an attrs `tp`.
    """
    if attrs.has(tp):
        return _attrs_instances(tp, overrides or {})
    if overrides:
        raise TypeError(f"field overrides need an attrs class, got {tp!r}")
    if tp in _SCALARS:
        return _SCALARS[tp]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        return st.one_of([values_of(arg) for arg in args])
    if origin is typing.Literal:
        return st.sampled_from(args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return st.lists(values_of(args[0]), max_size=5).map(tuple)
        if args == ((),):
            return st.just(())
        return st.tuples(*[values_of(arg) for arg in args])
    if origin is list or origin is Sequence:
        return st.lists(values_of(args[0] if args else str), max_size=5)
    if origin in (set, frozenset):
        items = st.sets(values_of(args[0] if args else str), max_size=5)
        return items if origin is set else items.map(frozenset)
    if origin is dict or origin is Mapping:
        key, value = args or (str, str)
        return st.dictionaries(values_of(key), values_of(value), max_size=5)
    return st.from_type(tp)


def _attrs_instances(
    cls: Any, overrides: Mapping[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[Any]:
    attrs.resolve_types(cls)
    fields = {f.name: f for f in attrs.fields(cls)}
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        raise TypeError(f"{cls.__qualname__} has no fields {unknown}; it has {sorted(fields)}")
    drawn = {
        f.alias: overrides[f.name] if f.name in overrides else values_of(f.type)
        for f in fields.values()
        if f.init
    }
    return st.builds(cls, **drawn)


def events(event_class: type[E], /, **overrides: st.SearchStrategy[Any]) -> st.SearchStrategy[E]:
    """Instances of the attrs event class, every field drawn from its type.

    ``events(Deposited, amount=st.integers(1, 100))`` overrides one field's
    strategy. The values round-trip exactly through `EventCodec` and JSON.
    """
    if not attrs.has(event_class):
        raise TypeError(f"events() needs an attrs class, got {event_class!r}")
    strategy: st.SearchStrategy[E] = _attrs_instances(event_class, overrides)
    return strategy


@attrs.frozen
class Command:
    """One command: a method of the aggregate and the arguments to call it with.

    Calling it runs the command on an aggregate; its repr reads like the
    call (``withdraw(amount=5)``), so Hypothesis prints readable examples.
    """

    method: Callable[..., Any]
    arguments: Mapping[str, Any] = attrs.field(factory=dict)

    def __call__(self, aggregate: Any) -> Any:
        return getattr(aggregate, self.method.__name__)(**self.arguments)

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.arguments.items())
        return f"{self.method.__name__}({args})"


def command(
    method: Callable[..., Any], /, **arguments: st.SearchStrategy[Any]
) -> st.SearchStrategy[Command]:
    """Calls of one command method, e.g. ``command(Account.withdraw, amount=st.integers(-5, 500))``.

    Parameters without a strategy are drawn from their type hints; parameters
    with a default keep it unless given a strategy.
    """
    signature = inspect.signature(method)
    hints = typing.get_type_hints(method)
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    unknown = sorted(set(arguments) - {p.name for p in parameters})
    if unknown:
        raise TypeError(f"{method.__qualname__} has no parameters {unknown}")
    drawn: dict[str, st.SearchStrategy[Any]] = {}
    for parameter in parameters:
        if parameter.name in arguments:
            drawn[parameter.name] = arguments[parameter.name]
        elif parameter.default is inspect.Parameter.empty:
            if parameter.name not in hints:
                raise TypeError(
                    f"give command({method.__qualname__}, {parameter.name}=...) a strategy: "
                    "the parameter has no type hint to draw from"
                )
            drawn[parameter.name] = values_of(hints[parameter.name])
    return st.fixed_dictionaries(drawn).map(lambda values: Command(method, values))


def commands(
    *choices: st.SearchStrategy[Command], min_size: int = 0, max_size: int = 20
) -> st.SearchStrategy[list[Command]]:
    """Sequences of commands, each drawn from one of `choices` (see `command`)."""
    if not choices:
        raise TypeError("commands() needs at least one command(...) strategy")
    return st.lists(st.one_of(choices), min_size=min_size, max_size=max_size)


def aggregates(
    aggregate_type: type[A],
    /,
    *,
    commands: st.SearchStrategy[Sequence[Callable[[A], object]]] | None = None,
    tolerate: tuple[type[BaseException], ...] = (),
    **overrides: st.SearchStrategy[Any],
) -> st.SearchStrategy[A]:
    """Aggregates of `aggregate_type`.

    With `commands`, each aggregate is reached by running a drawn command
    sequence on a new aggregate: a state the domain can really reach, with
    the recorded events still pending. Errors of the `tolerate` classes
    (your domain errors) skip that command. Without it, every state field
    is drawn from its type (overridable by name): handy for snapshot round
    trips, though the state may be one no command sequence reaches.
    """
    if commands is None:
        state_fields = {"version": st.just(0), "pending_events": st.builds(list)}
        state_fields.update(overrides)
        state_fields.setdefault("id", st.uuids())
        built: st.SearchStrategy[A] = _attrs_instances(aggregate_type, state_fields)
        return built
    if overrides:
        raise TypeError("aggregates() takes field overrides or commands, not both")

    def reach(sequence: Sequence[Callable[[A], object]]) -> A:
        aggregate = aggregate_type()
        for step in sequence:
            with contextlib.suppress(*tolerate):
                step(aggregate)
        return aggregate

    return commands.map(reach)

"""JSON bytes for stored payloads: one rule, whatever the backend.

A payload (an event's data or metadata, a snapshot's data) is stored only if
every backend gives back a value equal to it: JSON values, that is dicts
with str keys, lists, str, int (64 bits), float, bool and None. orjson alone
would be more lenient in ways the backends then tell apart, so the kit also
refuses:

- values JSON has no type for, which orjson writes as something else and
  which come back unequal: UUID and datetime (as strings), tuples (as lists),
  enums (as their values), dataclasses (as dicts); convert them first, or
  record typed events, whose converter has a hook for each (UUID, datetime,
  Decimal, bytes, sets...);
- NaN and the infinities, which orjson writes as ``null``;
- -0.0, which PostgreSQL's JSONB turns into 0.0;
- the NUL character in a string or key, which JSONB refuses (memory and
  SQLite would store it: tests on them would pass on data production refuses).

Checking costs one orjson round trip and two substring searches of the
output; the value is walked only to explain a refusal. An append checks all
its payloads in one such round trip (`storable_json_all`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import orjson

from eventsourcing_kit.errors import SerializationError

__all__ = ["dumps", "loads", "storable_json", "storable_json_all"]

_JSON_TYPES = "dicts with str keys, lists, str, int, float, bool and None"


def storable_json(value: Any) -> bytes | None:
    """`value` as compact JSON bytes if every backend stores it exactly, else None.

    The fast path of `dumps`, for callers that build their error message only
    when needed: on None, `dumps` says what is wrong.
    """
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        return None
    # "-0.0" or "\\u0000" may be text that only looks like one (in a string,
    # after an escaped backslash): then the walk finds nothing wrong.
    suspicious = b"-0.0" in encoded or b"\\u0000" in encoded or orjson.loads(encoded) != value
    if suspicious and _problem(value) is not None:
        return None
    return encoded


def storable_json_all(values: Sequence[Any]) -> list[bytes] | None:
    """`storable_json` of each of `values`, checked together; None if any is refused.

    An append carries two payloads per event, most of them small, and for a
    small payload the fixed cost of each call (the decode, the searches)
    outweighs the work: the payloads are checked as one JSON array, one
    decode and two searches for the lot. On None, `storable_json` of each
    tells which one is refused, and `dumps` why.
    """
    try:
        encoded = [orjson.dumps(value) for value in values]
    except TypeError:
        return None
    joined = b"[" + b",".join(encoded) + b"]"
    suspicious = b"-0.0" in joined or b"\\u0000" in joined or orjson.loads(joined) != list(values)
    if suspicious and any(storable_json(value) is None for value in values):
        return None
    return encoded


def dumps(value: Any, *, what: str = "value") -> bytes:
    """Encode `value` as compact JSON bytes, or raise `SerializationError` saying why."""
    encoded = storable_json(value)
    if encoded is not None:
        return encoded
    problem = _problem(value)
    if problem is None:  # pragma: no cover - orjson refused what the walk accepts
        problem = "a value orjson cannot encode"
    raise SerializationError(
        f"{what} cannot be stored: {problem}; a payload holds JSON values only "
        f"({_JSON_TYPES}), so that every backend gives back what was written (typed "
        "events, through a Repository, store UUID, datetime, Decimal, sets and bytes)"
    )


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON produced by `dumps` (or by a database's JSON type)."""
    return orjson.loads(data)


def _problem(value: Any) -> str | None:
    # The first thing in `value` that breaks the rule, described with where it is.
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        where = f" at {path}" if path else ""
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            if "\x00" in item:
                return f"the NUL character \\u0000{where}, which PostgreSQL refuses"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return f"a lone surrogate{where}, which is not UTF-8"
            continue
        if isinstance(item, int):
            if not -(2**63) <= item < 2**64:
                return f"the int {item}{where}, beyond 64 bits"
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                return f"{item!r}{where}, which JSON cannot represent (store it as a string)"
            if item == 0 and math.copysign(1.0, item) < 0:
                # PostgreSQL's JSONB has no negative zero and gives back 0.0.
                return f"-0.0{where}, which not every backend keeps (store 0.0)"
            continue
        if isinstance(item, dict):
            for key, member in item.items():
                if not isinstance(key, str):
                    return f"the key {key!r}{where}, which is not a str"
                if "\x00" in key:
                    return f"the NUL character \\u0000 in key {key!r}{where}"
                stack.append((member, f"{path}[{key!r}]"))
            continue
        if isinstance(item, list):
            stack.extend((member, f"{path}[{index}]") for index, member in enumerate(item))
            continue
        kind = type(item).__qualname__
        hint = " (use a list)" if isinstance(item, tuple) else ""
        return f"a value of type {kind}{where}{hint}, which is not a JSON value"
    return None

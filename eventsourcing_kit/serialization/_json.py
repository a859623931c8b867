"""JSON bytes for stored payloads: orjson, with the one check it does not make.

orjson writes NaN and the infinities as ``null``, which would change a payload
silently; JSON (and PostgreSQL's JSONB) has no such numbers, so they are
rejected instead, and so is -0.0, which JSONB turns into 0.0. The check only
walks the value when the output holds a ``null`` or a ``-0.0`` at all, which
keeps the common case at orjson speed.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from eventsourcing_kit.errors import SerializationError

__all__ = ["dumps", "loads"]


def dumps(value: Any, *, what: str = "value") -> bytes:
    """Encode `value` as compact JSON bytes, or raise `SerializationError`."""
    try:
        encoded = orjson.dumps(value)
    except TypeError as error:
        raise SerializationError(
            f"{what} is not JSON-serializable: {error}; use str, int, float, bool, None, "
            "lists and dicts with str keys (the event converter handles richer types)"
        ) from error
    if b"null" in encoded or b"-0.0" in encoded:
        _reject_non_finite(value, what)
    return encoded


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON produced by `dumps` (or by a database's JSON type)."""
    return orjson.loads(data)


def _reject_non_finite(value: Any, what: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise SerializationError(
                f"{what} holds {item!r}, which JSON cannot represent; store it as a string"
            )
        if isinstance(item, float) and item == 0 and math.copysign(1.0, item) < 0:
            # PostgreSQL's JSONB has no negative zero and gives back 0.0: refused
            # on every backend, so that what one stores the others store too.
            raise SerializationError(
                f"{what} holds -0.0, which not every backend can store; store 0.0 instead"
            )
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)

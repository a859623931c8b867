"""JSON bytes for stored payloads: orjson, with the one check it does not make.

orjson writes NaN and the infinities as ``null``, which would change a payload
silently; JSON (and PostgreSQL's JSONB) has no such numbers, so they are
rejected instead. The check only walks the value when the output holds a
``null`` at all, which keeps the common case at orjson speed.
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
    if b"null" in encoded:
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
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)

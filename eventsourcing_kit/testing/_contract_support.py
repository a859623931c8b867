"""Helpers shared by the store contract's test classes."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterable, Awaitable, Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, TypeAlias
from uuid import UUID

import pytest
from hypothesis import strategies as st

from eventsourcing_kit.stores import (
    EventStore,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.testing._strategies import STORABLE_FLOATS

__all__ = [
    "ANY",
    "BAD_STREAM_IDS",
    "DEFAULT_PAGE",
    "NO_STREAM",
    "ODD_STREAM_IDS",
    "STREAM_EXISTS",
    "UNSERIALIZABLE_DATA",
    "Reopen",
    "append_numbered",
    "collect",
    "json_text",
    "json_values",
    "new",
    "numbered",
    "same_json",
    "snapshot",
]

Reopen: TypeAlias = Callable[[], Awaitable[EventStore]]
"""Opens another store object on the storage of the ``store`` fixture."""


ANY = ExpectedVersion.ANY
NO_STREAM = ExpectedVersion.NO_STREAM
STREAM_EXISTS = ExpectedVersion.STREAM_EXISTS

# The default page size of the readers (stores/_base.py); reading a few more
# than this many events crosses a page boundary with the default batch_size.
DEFAULT_PAGE = 500


def new(event_type: str = "Happened", data: dict[str, Any] | None = None, **kw: Any) -> NewEvent:
    """A new event with `data` (default: an empty dict)."""
    return NewEvent(event_type=event_type, data={} if data is None else data, **kw)


def numbered(count: int, *, event_type: str = "Happened", start: int = 1) -> list[NewEvent]:
    """`count` new events whose data says which one they are."""
    return [new(event_type, {"n": n}) for n in range(start, start + count)]


async def append_numbered(
    store: EventStore, stream_id: str, count: int, *, expected_version: Any = ANY
) -> None:
    """`numbered(count)` appended to the stream, in as few appends as the
    backend's `max_events_per_append` allows."""
    limit = store.capabilities.max_events_per_append or count
    expected = expected_version
    for start in range(1, count + 1, limit):
        size = min(limit, count + 1 - start)
        result = await store.append_events(
            stream_id, numbered(size, start=start), expected_version=expected
        )
        expected = result.version


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
json_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20)


def json_values() -> st.SearchStrategy[Any]:
    text = json_text
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | STORABLE_FLOATS
        | text
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
        max_leaves=12,
    )


BAD_STREAM_IDS = [
    pytest.param("", id="empty"),
    pytest.param("x" * 256, id="256-chars"),
    pytest.param("Account-\n1", id="newline"),
    pytest.param("Account-\x001", id="nul"),
    pytest.param("Account-\x7f", id="del"),
    pytest.param(42, id="int"),
    pytest.param(None, id="none"),
    pytest.param(b"Account-1", id="bytes"),
]

ODD_STREAM_IDS = [
    pytest.param('Account-it\'s "quoted"', id="quotes"),
    pytest.param("Account-1; DROP TABLE events; --", id="semicolon"),
    pytest.param(" Account-with  spaces ", id="spaces"),
    pytest.param("Kontoöffnung-日本語-🙂", id="unicode"),
    pytest.param("Account-%_\\*?[]", id="wildcards"),
    pytest.param("A-" + "x" * 253, id="255-chars"),
    pytest.param("é" * 255, id="255-non-ascii-chars"),
]


class _Colour(enum.Enum):
    RED = "red"


UNSERIALIZABLE_DATA = [
    pytest.param({"tags": {"a", "b"}}, id="set"),
    pytest.param({"amount": float("nan")}, id="nan"),
    pytest.param({"amount": float("inf")}, id="infinity"),
    pytest.param({"nested": [{"amount": -float("inf")}]}, id="nested-infinity"),
    pytest.param({1: "int key"}, id="int-key"),
    pytest.param({"big": 2**64}, id="int-beyond-64-bits"),
    pytest.param({"raw": b"bytes"}, id="bytes"),
    pytest.param({"thing": object()}, id="object"),
    pytest.param({"text": "\ud800"}, id="lone-surrogate"),
    # PostgreSQL's JSONB refuses NUL: every backend refuses it the same way.
    pytest.param({"name": "Ada\x00"}, id="nul-in-a-string"),
    pytest.param({"nested": {"names": ["\x00"]}}, id="nested-nul"),
    pytest.param({"na\x00me": "Ada"}, id="nul-in-a-key"),
    # What JSON has no type for is refused, not turned into something else
    # that reads back unequal (orjson alone would write these as strings,
    # lists or their values).
    pytest.param({"id": UUID("12345678-1234-5678-1234-567812345678")}, id="uuid"),
    pytest.param({"at": datetime(2024, 1, 1, tzinfo=UTC)}, id="datetime"),
    pytest.param({"on": date(2024, 1, 1)}, id="date"),
    pytest.param({"amount": Decimal("1.10")}, id="decimal"),
    pytest.param({"pair": (1, 2)}, id="tuple"),
    pytest.param({"colour": _Colour.RED}, id="enum"),
]


def snapshot(version: int, stream_id: str = "Account-1", **data: Any) -> Snapshot:
    """A snapshot of an account stream at `version`, its data overridable."""
    return Snapshot(
        stream_id=stream_id,
        version=version,
        state_schema="Account:1",
        data={"balance": 10, "owner": "Zoë", "tags": ["a"], **data},
    )

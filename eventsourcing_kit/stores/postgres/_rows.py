"""What the append SQL takes and gives back, in the driver's terms.

The statements and functions take the expected version as one int code,
and the functions and group statements return one row per append:
(conflict, the stream's version, transaction id, position). Both stay
inside the driver: a row becomes the core's `Appended` or `Rejected` as soon
as it comes back (`function_outcome`).
"""

from __future__ import annotations

from typing import Any, NamedTuple
from uuid import UUID

import asyncpg

from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendResult,
    ExpectedVersion,
    Position,
    Rejected,
    StreamWrite,
)
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text

__all__ = [
    "EXPECTED_CODES",
    "LOST_RACE",
    "STREAM_EXISTS_CODE",
    "EncodedAppend",
    "encode_append",
    "expected_code",
    "function_outcome",
]


# The exact version (>= 0), or a negative code for the other expectations.
EXPECTED_CODES = {ExpectedVersion.ANY: -1, ExpectedVersion.NO_STREAM: 0}
STREAM_EXISTS_CODE = -2

LOST_RACE = (asyncpg.UniqueViolationError, asyncpg.SerializationError)
"""The errors of an append that lost a race, which the core resolves.

A unique violation: ids inserted by a transaction that had not yet
committed when the function looked, or an id reused by an append the
one-statement path sent (it does not look ids up first). A serialization
failure: a caller's REPEATABLE READ snapshot older than the stream's row.
"""


def expected_code(expected: int | ExpectedVersion) -> int:
    """The SQL's int code for an expected version."""
    if isinstance(expected, int):
        return expected
    return EXPECTED_CODES.get(expected, STREAM_EXISTS_CODE)


class EncodedAppend(NamedTuple):
    """One stream's append as the append statements and functions take it.

    The fields are in the order of their parameters ``$1``-``$6``: the
    stream, the expected-version code, then one array per event column.
    """

    stream_id: str
    code: int
    ids: list[UUID]
    types: list[str]
    datas: list[str]
    metadatas: list[str]


def encode_append(write: StreamWrite) -> EncodedAppend:
    """`write` as the SQL takes it: JSON payloads as JSONB text, the code of its version."""
    encoded = EncodedAppend(write.stream_id, expected_code(write.expected), [], [], [], [])
    # One pass over the events, not a comprehension per column: this runs
    # for every append, and each comprehension is a function call of its own.
    for event, data, metadata in write.events:
        encoded.ids.append(event.event_id)
        encoded.types.append(event.event_type)
        encoded.datas.append(jsonb_text(data, event.data))
        encoded.metadatas.append(jsonb_text(metadata, event.metadata))
    return encoded


def function_outcome(row: Any, stream_id: str) -> AppendOutcome:
    """The outcome of one append's row of the append functions or of a group.

    A conflict is a version that did not hold or a first event id stored
    already; the core tells them apart. Its version is NULL from
    ``append_group_exact``, which does not read it.
    """
    conflict, version, xid, position = row
    if conflict:
        return Rejected(0, version)
    return Appended(
        (
            AppendResult(
                stream_id=stream_id,
                version=version,
                global_position=position,
                position=Position.pair(xid, position),
            ),
        )
    )

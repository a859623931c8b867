"""Positions in the PostgreSQL global order: (transaction id, global position)."""

from __future__ import annotations

from eventsourcing_kit.errors import InvalidInputError

__all__ = ["START", "validate_position"]

START = (0, 0)
"""Before every event: no transaction id nor global position is below it."""

_MAX = 2**63 - 1


def validate_position(position: object) -> tuple[int, int]:
    """Return `position` as a pair of ints, or raise `InvalidInputError`.

    A list of two ints is accepted too: it is what a pair becomes after a
    round trip through JSON.
    """
    if (
        isinstance(position, tuple | list)
        and len(position) == 2
        and all(
            isinstance(part, int) and not isinstance(part, bool) and 0 <= part <= _MAX
            for part in position
        )
    ):
        return (position[0], position[1])
    hint = (
        " (an int is a position of another backend: PostgreSQL orders events by the "
        "writing transaction too)"
        if isinstance(position, int)
        else ""
    )
    raise InvalidInputError(
        f"invalid position {position!r} for the PostgreSQL store{hint}: pass None or the "
        "`position` of an event read from this store, a pair (transaction id, global "
        "position) of non-negative ints"
    )

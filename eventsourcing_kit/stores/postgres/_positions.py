"""Positions in the PostgreSQL global order: (transaction id, global position)."""

from __future__ import annotations

from eventsourcing_kit.stores.driver import Position, position_of

__all__ = ["START", "validate_position"]

START = Position(0, 0)
"""Before every event: no transaction id nor global position is below it."""


def validate_position(position: object) -> Position:
    """`position` as a PostgreSQL position, or `InvalidInputError`.

    A pair of ints is accepted too: what a position stored before positions
    had a type of their own became after a round trip through JSON.
    """
    return position_of(position, parts=2, backend="PostgreSQL")

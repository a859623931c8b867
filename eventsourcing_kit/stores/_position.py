"""`Position`: one type for a place in the global order, whatever the backend."""

from __future__ import annotations

from typing import Self

from eventsourcing_kit.errors import InvalidInputError

__all__ = ["MAX_INT64", "Position", "position_of"]

MAX_INT64 = 2**63 - 1
"""The largest version or position part any backend stores (a signed 64-bit int)."""

# A two-part position (PostgreSQL's transaction id, then its number) is one
# int: the parts side by side, above a flag bit that keeps the two shapes
# apart. Its order is the order of the pairs.
_PAIR = 1 << 127
_LOW = (1 << 64) - 1
_int_new = int.__new__


class Position(int):
    """A place in one store's global order: ordered, hashable, storable as text.

    Take positions from the store (`RecordedEvent.position`,
    `head_position()`, `start_position`), compare them with each other and
    pass them back (`read_all(from_position=...)`, checkpoints). Keep one as
    text with ``str(position)`` and get it back with `Position.parse`. What
    it holds depends on the backend (one number on SQLite and in memory, the
    writing transaction and a number on PostgreSQL, where the transaction
    orders events): do no arithmetic on it, and compare only positions of
    one store.

    An int underneath: the read paths make one per event, and an int is
    built, compared and left alone by the garbage collector at the least
    cost (a tuple subclass would be tracked by it, which a read of many
    events pays for).
    """

    __slots__ = ()

    def __new__(cls, *parts: int) -> Self:
        if not 1 <= len(parts) <= 2 or not all(_is_part(part) for part in parts):
            raise InvalidInputError(
                f"a Position holds one or two ints from 0 to {MAX_INT64}, got {parts!r}"
            )
        if len(parts) == 1:
            return _int_new(cls, parts[0])
        return _int_new(cls, _PAIR | parts[0] << 64 | parts[1])

    @classmethod
    def pair(cls, first: int, second: int) -> Position:
        """A two-part position from parts a database gave (no checks: a hot path)."""
        return _int_new(cls, _PAIR | first << 64 | second)

    @property
    def parts(self) -> tuple[int, ...]:
        """The backend's numbers, for its driver."""
        value = int(self)
        if value >= _PAIR:
            value -= _PAIR
            return (value >> 64, value & _LOW)
        return (value,)

    def __getnewargs__(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.parts

    def __str__(self) -> str:
        return ":".join(map(str, self.parts))

    def __repr__(self) -> str:
        return f"Position({str(self)!r})"

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    @classmethod
    def parse(cls, text: str) -> Position:
        """The position whose text (``str(position)``) is `text`."""
        try:
            parts = tuple(int(part) for part in text.split(":")) if isinstance(text, str) else ()
        except ValueError:
            parts = ()
        if not parts or not text.isascii():
            raise InvalidInputError(f"invalid position text {text!r}: pass what str(position) gave")
        return cls(*parts)


def _is_part(part: object) -> bool:
    return isinstance(part, int) and not isinstance(part, bool) and 0 <= part <= MAX_INT64


def position_of(value: object, *, parts: int, backend: str) -> Position:
    """`value` as a position of a backend whose positions have `parts` parts.

    Takes a `Position`, and for stores written before positions had a type of
    their own, an int (one part) or a list or tuple of two ints (a pair after
    a JSON round trip). Anything else, or a position of another shape, raises
    `InvalidInputError` naming the backend.
    """
    if type(value) is Position:
        if len(value.parts) == parts:
            return value
    elif parts == 1 and _is_part(value):
        assert isinstance(value, int)
        return _int_new(Position, value)
    elif (
        parts == 2
        and isinstance(value, tuple | list)
        and len(value) == 2
        and all(_is_part(part) for part in value)
    ):
        return Position.pair(value[0], value[1])
    earlier = "an int" if parts == 1 else "a pair of ints"
    raise InvalidInputError(
        f"invalid position {value!r} for the {backend} store: pass None or the `position` "
        "of an event read from this store (or its head_position(), start_position); a "
        f"position stored by an earlier version of the kit is {earlier}"
    )

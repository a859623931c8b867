"""`Position`: one ordered, hashable, storable type for every backend's positions."""

from __future__ import annotations

import pickle

import pytest

from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores import MAX_INT64, Position
from eventsourcing_kit.stores.driver import position_of


def test_one_part_positions_order_by_their_number() -> None:
    assert Position(1) < Position(2) < Position(10)


def test_two_part_positions_order_by_the_first_part_then_the_second() -> None:
    assert Position(5, 900) < Position(6, 1) < Position(6, 2)


def test_the_largest_parts_keep_the_order() -> None:
    assert Position(MAX_INT64 - 1, MAX_INT64) < Position(MAX_INT64, 0)


@pytest.mark.parametrize("position", [Position(0), Position(42), Position(812, 12)], ids=str)
def test_a_position_round_trips_through_its_text(position: Position) -> None:
    assert Position.parse(str(position)) == position


@pytest.mark.parametrize("position", [Position(7), Position(3, 4)], ids=str)
def test_a_position_survives_pickling(position: Position) -> None:
    copy = pickle.loads(pickle.dumps(position))
    assert (type(copy), copy) == (Position, position)


def test_parts_give_the_backend_its_numbers() -> None:
    assert (Position(9).parts, Position(3, 4).parts) == ((9,), (3, 4))


def test_the_text_names_the_parts() -> None:
    assert (str(Position(812, 12)), repr(Position(5))) == ("812:12", "Position('5')")


@pytest.mark.parametrize("text", ["", "a", "1:", "-1", "1:2:3", "\u0661"], ids=repr)
def test_text_that_is_no_position_is_refused(text: str) -> None:
    with pytest.raises(InvalidInputError):
        Position.parse(text)


@pytest.mark.parametrize("parts", [(), (-1,), (MAX_INT64 + 1,), (1, 2, 3), (True,)], ids=repr)
def test_parts_out_of_range_are_refused(parts: tuple[int, ...]) -> None:
    with pytest.raises(InvalidInputError):
        Position(*parts)


def test_positions_of_earlier_versions_are_still_accepted() -> None:
    assert position_of(5, parts=1, backend="memory") == Position(5)
    assert position_of([3, 4], parts=2, backend="PostgreSQL") == Position(3, 4)


def test_a_position_of_another_shape_is_refused_naming_the_backend() -> None:
    with pytest.raises(InvalidInputError, match="PostgreSQL"):
        position_of(Position(5), parts=2, backend="PostgreSQL")

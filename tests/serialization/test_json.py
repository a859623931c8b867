"""The JSON layer under every stored payload."""

from __future__ import annotations

import math

import pytest

from eventsourcing_kit.errors import SerializationError
from eventsourcing_kit.serialization import decode_json, encode_json


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_instead_of_written_as_null(value: float) -> None:
    with pytest.raises(SerializationError, match="JSON cannot represent"):
        encode_json({"nested": [1, {"x": value}]})


def test_none_values_still_encode() -> None:
    assert decode_json(encode_json({"a": None, "b": [None]})) == {"a": None, "b": [None]}


def test_an_unserializable_value_names_what_was_being_encoded() -> None:
    with pytest.raises(SerializationError, match="data of event"):
        encode_json({"s": {1, 2}}, what="data of event 'X'")

"""The JSON layer under every stored payload."""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eventsourcing_kit.errors import SerializationError
from eventsourcing_kit.serialization import (
    decode_json,
    encode_json,
    storable_json,
    storable_json_all,
)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_are_refused_instead_of_written_as_null(value: float) -> None:
    with pytest.raises(SerializationError, match="JSON cannot represent"):
        encode_json({"nested": [1, {"x": value}]})


def test_none_values_still_encode() -> None:
    assert decode_json(encode_json({"a": None, "b": [None]})) == {"a": None, "b": [None]}


def test_an_unserializable_value_names_what_was_being_encoded() -> None:
    with pytest.raises(SerializationError, match="data of event"):
        encode_json({"s": {1, 2}}, what="data of event 'X'")


# Payloads as an append carries them: JSON values, and now and then one the
# kit refuses (-0.0, NaN, NUL, a tuple, a UUID, a non-str key).
REFUSED = [-0.0, math.nan, "a\x00b", (1, 2), UUID(int=7), {1: "x"}]
_REFUSED = st.sampled_from(REFUSED)
_JSON_LEAVES = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text()
_VALUES = st.recursive(
    _JSON_LEAVES | st.floats(allow_nan=False, allow_infinity=False) | _REFUSED,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
_PAYLOADS = st.lists(st.dictionaries(st.text(max_size=5), _VALUES, max_size=4), max_size=6)


@pytest.mark.parametrize("refused", REFUSED, ids=repr)
def test_one_refused_value_among_many_payloads_refuses_them_all(refused: Any) -> None:
    payloads = [{"a": 1}, {"b": [1.5, "x"]}, {"c": {"d": refused}}, {}]
    assert storable_json_all(payloads) is None


@given(payloads=_PAYLOADS)
def test_checking_payloads_together_agrees_with_checking_each(payloads: list[Any]) -> None:
    each = [storable_json(payload) for payload in payloads]
    together = storable_json_all(payloads)
    if any(encoded is None for encoded in each):
        assert together is None
    else:
        assert together == each

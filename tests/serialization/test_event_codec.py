"""Typed events to stored form and back: names, schema versions, upcasting, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import attrs
import pytest

from eventsourcing_kit import EventCodec, EventRegistry, event_type
from eventsourcing_kit.errors import SerializationError, UnknownEventTypeError, UpcastError
from eventsourcing_kit.serialization import SCHEMA_VERSION_KEY


@attrs.frozen
class Line:
    sku: str
    quantity: int


@attrs.frozen
class OrderPlaced:
    order_id: UUID
    at: datetime
    total: Decimal
    lines: tuple[Line, ...]


def _add_currency(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "currency": "EUR"}


def _cents(data: dict[str, Any]) -> dict[str, Any]:
    return {"cents": round(float(data.pop("amount")) * 100), "currency": data["currency"]}


@event_type("Paid", version=3, upcasters={1: _add_currency, 2: _cents})
@attrs.frozen
class Paid:
    cents: int
    currency: str


@attrs.frozen(kw_only=True)
class Stored:
    stream_id: str = "Order-1"
    version: int = 1
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = attrs.field(factory=dict)


codec = EventCodec(EventRegistry([OrderPlaced, Paid]))


def test_an_event_round_trips_through_its_stored_form() -> None:
    event = OrderPlaced(uuid4(), datetime.now(UTC), Decimal("12.30"), (Line("a", 2),))
    encoded = codec.encode(event)
    assert encoded.event_type == "OrderPlaced"
    assert codec.decode(Stored(event_type=encoded.event_type, data=encoded.data)) == event


def test_the_current_schema_version_goes_in_the_metadata() -> None:
    encoded = codec.encode(Paid(100, "EUR"))
    assert encoded.metadata() == {SCHEMA_VERSION_KEY: 3}
    assert codec.encode(OrderPlaced(uuid4(), datetime.now(UTC), Decimal(1), ())).metadata() == {}


def test_a_version_one_event_is_upcast_step_by_step_to_the_current_class() -> None:
    stored = Stored(event_type="Paid", data={"amount": "1.25"})
    assert codec.decode(stored) == Paid(125, "EUR")


def test_a_version_two_event_takes_only_the_remaining_step() -> None:
    stored = Stored(
        event_type="Paid",
        data={"amount": "2.50", "currency": "USD"},
        metadata={SCHEMA_VERSION_KEY: 2},
    )
    assert codec.decode(stored) == Paid(250, "USD")


def test_an_event_from_newer_code_is_refused_with_a_clear_error() -> None:
    stored = Stored(event_type="Paid", data={}, metadata={SCHEMA_VERSION_KEY: 4})
    with pytest.raises(UpcastError, match="newer"):
        codec.decode(stored)


def test_a_failing_upcaster_is_reported_with_the_event_and_versions() -> None:
    stored = Stored(event_type="Paid", data={"no_amount": 1}, metadata={SCHEMA_VERSION_KEY: 2})
    with pytest.raises(UpcastError, match="from schema version 2 to 3"):
        codec.decode(stored)


def test_an_unknown_stored_name_names_the_stream_and_version() -> None:
    with pytest.raises(UnknownEventTypeError, match=r"'Refunded'.*Order-9.*version 4"):
        codec.decode(Stored(stream_id="Order-9", version=4, event_type="Refunded", data={}))


def test_stored_data_that_does_not_fit_the_class_is_a_serialization_error() -> None:
    with pytest.raises(SerializationError, match="does not fit OrderPlaced"):
        codec.decode(Stored(event_type="OrderPlaced", data={"order_id": "not-a-uuid"}))


def test_a_naive_datetime_is_refused_when_encoding() -> None:
    event = OrderPlaced(uuid4(), datetime(2024, 1, 1), Decimal(1), ())
    with pytest.raises(SerializationError, match="naive datetime"):
        codec.encode(event)

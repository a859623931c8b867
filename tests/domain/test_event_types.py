"""Event type names, schema versions, aliases and the registry."""

from __future__ import annotations

import attrs
import pytest

from eventsourcing_kit import EventRegistry, event_type
from eventsourcing_kit.domain import event_type_info
from eventsourcing_kit.errors import ConfigurationError, UnknownEventTypeError


@attrs.frozen
class Plain:
    x: int


@event_type("order.placed", version=2, aliases=("OrderPlaced",), upcasters={1: dict})
@attrs.frozen
class Placed:
    x: int


def test_an_undecorated_event_is_stored_under_its_class_name_at_version_one() -> None:
    info = event_type_info(Plain)
    assert (info.name, info.version, info.aliases) == ("Plain", 1, ())


def test_the_decorator_sets_name_version_and_aliases() -> None:
    info = event_type_info(Placed)
    assert (info.name, info.version, info.aliases) == ("order.placed", 2, ("OrderPlaced",))


def test_a_subclass_does_not_inherit_its_parents_stored_name() -> None:
    @attrs.frozen
    class Child(Placed):
        pass

    assert event_type_info(Child).name == "Child"


def test_the_registry_resolves_names_and_aliases() -> None:
    registry = EventRegistry([Plain, Placed])
    assert registry.resolve("Plain") is Plain
    assert registry.resolve("order.placed") is Placed
    assert registry.resolve("OrderPlaced") is Placed


def test_an_unknown_name_names_the_stream_and_version() -> None:
    registry = EventRegistry([Plain])
    with pytest.raises(UnknownEventTypeError) as caught:
        registry.resolve("Gone", stream_id="Order-1", version=7)
    assert (caught.value.event_type, caught.value.stream_id, caught.value.version) == (
        "Gone",
        "Order-1",
        7,
    )
    assert "'Gone'" in str(caught.value) and "Order-1" in str(caught.value)


def test_two_classes_claiming_one_name_are_rejected() -> None:
    @event_type("Plain")
    @attrs.frozen
    class Impostor:
        pass

    with pytest.raises(ConfigurationError, match="claimed by both"):
        EventRegistry([Plain, Impostor])


def test_a_version_without_an_upcaster_for_each_older_version_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match=r"missing: \[2\]"):
        event_type(version=3, upcasters={1: dict})


def test_the_decorator_refuses_a_class_that_is_not_attrs() -> None:
    class NotAttrs:
        pass

    with pytest.raises(ConfigurationError, match="attrs class"):
        event_type()(NotAttrs)


def test_an_unknown_name_points_at_event_types_and_the_real_decorator() -> None:
    with pytest.raises(UnknownEventTypeError) as caught:
        EventRegistry([Plain]).resolve("Gone")
    message = str(caught.value)
    assert "`event_types`" in message
    assert "@event_type('Gone')" in message
    assert "@event_type(aliases=['Gone'])" in message
    assert "@event " not in message


def test_the_registry_refuses_a_class_that_is_not_attrs_with_the_kits_error() -> None:
    class NotAttrs:
        pass

    with pytest.raises(ConfigurationError, match=r"NotAttrs is not an attrs class.*@attrs\.frozen"):
        EventRegistry([NotAttrs])


def test_the_registry_refuses_a_mutable_event_class() -> None:
    @attrs.define
    class Mutable:
        x: int

    with pytest.raises(ConfigurationError, match=r"Mutable is mutable"):
        EventRegistry([Mutable])


def test_the_registry_refuses_what_is_not_a_class() -> None:
    with pytest.raises(ConfigurationError, match="is not a class"):
        EventRegistry([Plain(1)])  # type: ignore[list-item]

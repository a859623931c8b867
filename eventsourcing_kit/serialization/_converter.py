"""The one cattrs converter: attrs values to JSON-compatible dicts and back.

Every value that leaves a round trip must come back equal, so each hook
picks a representation JSON keeps exactly: UUIDs and Decimals as strings,
datetimes as ISO 8601 with their offset (naive ones are refused: their
meaning depends on the reader's clock), bytes as base64, enums by value,
tuples and sets as lists.
"""

from __future__ import annotations

import base64
import enum
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import cattrs
import orjson

from eventsourcing_kit.errors import SerializationError

__all__ = ["make_converter"]


def make_converter() -> cattrs.Converter:
    """A fresh converter with the kit's hooks; register your own on it freely."""
    converter = cattrs.Converter(forbid_extra_keys=False)
    converter.register_unstructure_hook(UUID, str)
    converter.register_structure_hook(UUID, lambda value, _: UUID(value))
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook(Decimal, lambda value, _: Decimal(value))
    converter.register_unstructure_hook(datetime, _unstructure_datetime)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
    converter.register_unstructure_hook(time, time.isoformat)
    converter.register_structure_hook(time, lambda value, _: time.fromisoformat(value))
    converter.register_unstructure_hook(timedelta, _unstructure_timedelta)
    converter.register_structure_hook(timedelta, _structure_timedelta)
    converter.register_unstructure_hook(bytes, _unstructure_bytes)
    converter.register_structure_hook(bytes, lambda value, _: base64.b64decode(value))
    converter.register_unstructure_hook_func(
        lambda cls: isinstance(cls, type) and issubclass(cls, enum.Enum), _unstructure_enum
    )
    # cattrs keeps tuples and sets as such when unstructuring; JSON wants lists.
    converter.register_unstructure_hook_factory(_is_collection, _list_factory(converter))
    return converter


def _unstructure_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        raise SerializationError(
            f"naive datetime {value!r} cannot be stored: give it a timezone "
            "(e.g. datetime.now(UTC)) so that every reader agrees on the instant"
        )
    return value.isoformat()


def _structure_datetime(value: Any, _: type) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise SerializationError(f"stored datetime {value!r} has no timezone")
    return parsed


def _unstructure_timedelta(value: timedelta) -> list[int]:
    return [value.days, value.seconds, value.microseconds]


def _structure_timedelta(value: Any, _: type) -> timedelta:
    days, seconds, microseconds = value
    return timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _unstructure_bytes(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _unstructure_enum(value: enum.Enum) -> Any:
    return value.value


def _is_collection(cls: Any) -> bool:
    origin = getattr(cls, "__origin__", cls)
    return isinstance(origin, type) and issubclass(origin, tuple | set | frozenset)


def _list_factory(converter: cattrs.Converter) -> Any:
    def factory(cls: Any) -> Any:
        args = getattr(cls, "__args__", None)
        origin = getattr(cls, "__origin__", cls)
        if issubclass(origin, tuple) and hasattr(origin, "_fields"):
            # Named tuples: leave them to cattrs (attrs-like handling).
            return converter.gen_unstructure_iterable(cls, unstructure_to=list)
        if args and not (len(args) == 2 and args[1] is Ellipsis) and issubclass(origin, tuple):
            hooks = [converter.get_unstructure_hook(arg) for arg in args]
            return lambda value: [hook(item) for hook, item in zip(hooks, value, strict=True)]
        item_type = args[0] if args else Any
        hook = converter.get_unstructure_hook(item_type)
        if issubclass(origin, set | frozenset):
            # A set's iteration order depends on its history and on the
            # process's hash seed: store one canonical order, so equal sets
            # always give equal data (an idempotent retry compares data).
            return lambda value: sorted((hook(item) for item in value), key=orjson.dumps)
        return lambda value: [hook(item) for item in value]

    return factory

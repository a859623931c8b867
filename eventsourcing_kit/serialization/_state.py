"""Aggregate state for snapshots: its JSON form and a fingerprint of its shape."""

from __future__ import annotations

import enum
import hashlib
import typing
from typing import Any, TypeVar

import attrs
import cattrs

from eventsourcing_kit.domain import Aggregate
from eventsourcing_kit.errors import SerializationError

__all__ = ["StateCodec"]

A = TypeVar("A", bound=Aggregate)

# Kept out of the state: they are the snapshot's own columns, or not state at all.
_NOT_STATE = frozenset({"id", "version", "pending_events", "_pending_ids"})


class StateCodec:
    """Turns one aggregate class's state into snapshot data and back."""

    def __init__(self, aggregate_type: type[A], converter: cattrs.Converter) -> None:
        attrs.resolve_types(aggregate_type)
        self._type = aggregate_type
        self._converter = converter
        self._fields = [f for f in attrs.fields(aggregate_type) if f.name not in _NOT_STATE]
        self.schema = self._fingerprint()

    def _fingerprint(self) -> str:
        # Field names, their types and the class's own snapshot_version: a change
        # to any of them makes older snapshots unreadable, so they are skipped.
        parts = [self._type.__qualname__, str(self._type.snapshot_version)]
        parts += [f"{f.name}:{describe_type(f.type)}" for f in self._fields]
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]
        return f"{self._type.snapshot_version}:{digest}"

    def encode(self, aggregate: Aggregate) -> dict[str, Any]:
        """The state of `aggregate` as JSON-compatible data."""
        try:
            return {
                f.name: self._converter.unstructure(getattr(aggregate, f.name), f.type)
                for f in self._fields
            }
        except Exception as error:
            raise SerializationError(
                f"cannot snapshot {self._type.__qualname__}: {error!r}"
            ) from error

    def decode(self, data: dict[str, Any], *, aggregate_id: Any, version: int) -> Aggregate:
        """An aggregate rebuilt from snapshot data (raises if it does not fit)."""
        values = {
            f.alias: self._converter.structure(data[f.name], f.type) for f in self._fields if f.init
        }
        aggregate = self._type(**values, id=aggregate_id, version=version)
        for f in self._fields:
            if not f.init:
                setattr(aggregate, f.name, self._converter.structure(data[f.name], f.type))
        return aggregate


def describe_type(annotation: Any, _seen: frozenset[type] = frozenset()) -> str:
    """A text that changes whenever the stored shape of `annotation` changes.

    A nested attrs class is described by its fields, an enum by its members,
    a generic by its arguments, all the way down: renaming a field of a class
    held inside the state must make older snapshots unreadable too.
    """
    if isinstance(annotation, type) and attrs.has(annotation):
        if annotation in _seen:
            return f"{annotation.__qualname__}(...)"  # recursive: described once
        attrs.resolve_types(annotation)
        inner = _seen | {annotation}
        fields = ", ".join(
            f"{f.name}:{describe_type(f.type, inner)}" for f in attrs.fields(annotation)
        )
        return f"{annotation.__qualname__}({fields})"
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        members = ", ".join(f"{m.name}={m.value!r}" for m in annotation)
        return f"{annotation.__qualname__}[{members}]"
    arguments = typing.get_args(annotation)
    if arguments:
        origin = typing.get_origin(annotation)
        described = ", ".join(describe_type(argument, _seen) for argument in arguments)
        return f"{getattr(origin, '__qualname__', repr(origin))}[{described}]"
    return getattr(annotation, "__qualname__", repr(annotation))

"""Aggregate state for snapshots: its JSON form and a fingerprint of its shape."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import attrs
import cattrs

from eventsourcing_kit.domain import Aggregate
from eventsourcing_kit.errors import SerializationError

__all__ = ["StateCodec"]

A = TypeVar("A", bound=Aggregate)

# Kept out of the state: they are the snapshot's own columns, or not state at all.
_NOT_STATE = frozenset({"id", "version", "pending_events"})


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
        parts += [f"{f.name}:{f.type!r}" for f in self._fields]
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
                object.__setattr__(
                    aggregate, f.name, self._converter.structure(data[f.name], f.type)
                )
        return aggregate

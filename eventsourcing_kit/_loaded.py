"""`Loaded`: an aggregate as `Repository.load_with_info` loaded it, and how."""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from eventsourcing_kit.domain import Aggregate

__all__ = ["A", "Loaded"]

A = TypeVar("A", bound=Aggregate)


@attrs.frozen(kw_only=True)
class Loaded(Generic[A]):
    """An aggregate as `Repository.load_with_info` loaded it, and how.

    `snapshot_version` is the version of the snapshot the load started from
    (None: it replayed the stream from its first event); `replayed` is the
    number of events applied after it.
    """

    aggregate: A
    snapshot_version: int | None
    replayed: int

    @property
    def from_snapshot(self) -> bool:
        """Whether the load started from a snapshot."""
        return self.snapshot_version is not None

"""The one rule that puts a stream in a partition, and the value that names a partition.

A stream belongs to partition ``crc32(utf8(stream_id)) % count``. CRC-32
rather than `hash()`: Python salts string hashes per process, and every
reader, in every process, on every backend, must agree. The same rule is
written once more in each backend that filters by partition where the
events are stored (PostgreSQL: ``stream_partition()`` in
store/postgres/0013; SQLite: this function, registered on its
connections); the contract suite checks that they agree.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import attrs

from eventsourcing_kit.errors import InvalidInputError

if TYPE_CHECKING:
    from eventsourcing_kit.stores._driver import Driver, GlobalRead
    from eventsourcing_kit.stores._records import RecordedEvent

__all__ = ["Partition", "check_partition", "partition_of", "read_partition"]


def partition_of(stream_id: str, count: int) -> int:
    """The partition, of `count`, that the stream `stream_id` belongs to."""
    return zlib.crc32(stream_id.encode("utf-8")) % count


@attrs.frozen(slots=True)
class Partition:
    """Partition `index` of `count`: the streams whose `partition_of` is `index`."""

    index: int
    count: int

    def __attrs_post_init__(self) -> None:
        for name in ("index", "count"):
            part: object = getattr(self, name)
            if isinstance(part, bool) or not isinstance(part, int):
                raise InvalidInputError(f"a partition's {name} must be an int, got {part!r}")
        if not 0 <= self.index < self.count:
            raise InvalidInputError(
                f"partition {self.index} of {self.count} does not exist: partitions are "
                "numbered 0 to count - 1, and count is at least 1"
            )

    def holds(self, stream_id: str) -> bool:
        """True when the stream `stream_id` belongs to this partition."""
        return partition_of(stream_id, self.count) == self.index


def check_partition(partition: object) -> Partition:
    """`partition` if it is a `Partition`; `InvalidInputError` otherwise."""
    if not isinstance(partition, Partition):
        raise InvalidInputError(
            f"partition must be a Partition(index, count), got {type(partition).__name__}"
        )
    return partition


def read_partition(
    driver: Driver, request: GlobalRead, partition: Partition
) -> AsyncIterator[RecordedEvent]:
    """The driver's read of `request` restricted to `partition`.

    By the driver where the events are stored when it says it can
    (`Capabilities.partition_filter`); else every event is read and the
    other partitions' are dropped here.
    """
    if driver.capabilities.partition_filter:
        return driver.read_global(attrs.evolve(request, partition=partition))
    return _kept(driver.read_global(request), partition)


async def _kept(
    events: AsyncIterator[RecordedEvent], partition: Partition
) -> AsyncIterator[RecordedEvent]:
    try:
        async for event in events:
            if partition.holds(event.stream_id):
                yield event
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()

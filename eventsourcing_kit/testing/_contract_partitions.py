"""Store contract: reads kept to one partition of the streams, by the one partition rule.

A backend that filters where its events are stored (its
`Capabilities.partition_filter`) computes the rule itself, in SQL or
otherwise; these tests hold it to `partition_of`, including for stream ids
beyond ASCII, whose CRC-32 is over their UTF-8 bytes.
"""

from __future__ import annotations

import pytest

from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores import (
    EventStore,
    Partition,
    RecordedEvent,
    StreamAppend,
    partition_of,
)
from eventsourcing_kit.testing._contract_support import collect, numbered

__all__ = ["PartitionContract"]

STREAM_IDS = [
    *(f"Account-{n}" for n in range(6)),
    "Cart-1",
    "Cart-Ünïcödé",
    "Order-日本語",
    "Order-🙂",
    "Account-" + "x" * 200,
    "Solo",
]


async def _one_event_each(store: EventStore) -> list[RecordedEvent]:
    # One append for all: a backend's round trips are the cost of these tests.
    await store.append_many(
        StreamAppend(stream_id, numbered(1, event_type=stream_id[:3])) for stream_id in STREAM_IDS
    )
    return await collect(store.read_all())


def _needs_the_driver_filter(store: EventStore) -> None:
    # Without one, the core filters what the driver reads: the rule's test
    # covers that path, and the backend has no filter of its own to page,
    # resume or combine.
    if not store.capabilities.partition_filter:
        pytest.skip("the core filters partitions for this backend (no partition_filter)")


def _ids(events: list[RecordedEvent]) -> list[str]:
    return [event.stream_id for event in events]


class PartitionContract:
    """`read_all` and `read_category` with ``partition=Partition(index, count)``."""

    async def test_a_partitioned_read_yields_the_streams_the_partition_rule_puts_there(
        self, store: EventStore
    ) -> None:
        every = await _one_event_each(store)
        # Where the core filters, one count covers its one code path (and
        # each read reads the whole log).
        counts = (1, 3, 7) if store.capabilities.partition_filter else (3,)
        for count in counts:
            for index in range(count):
                read = await collect(store.read_all(partition=Partition(index, count)))
                wanted = [e for e in every if partition_of(e.stream_id, count) == index]
                assert _ids(read) == _ids(wanted), (index, count)

    async def test_the_partitions_together_read_every_event_once(self, store: EventStore) -> None:
        _needs_the_driver_filter(store)
        every = await _one_event_each(store)
        read = [
            event
            for index in range(5)
            for event in await collect(store.read_all(partition=Partition(index, 5)))
        ]
        assert sorted(e.position for e in read) == [e.position for e in every]

    async def test_a_partitioned_read_pages_through_more_events_than_a_batch(
        self, store: EventStore
    ) -> None:
        _needs_the_driver_filter(store)
        every = await _one_event_each(store)
        read = await collect(store.read_all(partition=Partition(1, 2), batch_size=2))
        assert _ids(read) == [e.stream_id for e in every if partition_of(e.stream_id, 2) == 1]

    async def test_a_partitioned_read_resumes_after_a_position(self, store: EventStore) -> None:
        _needs_the_driver_filter(store)
        every = await _one_event_each(store)
        middle = every[len(every) // 2].position
        read = await collect(store.read_all(from_position=middle, partition=Partition(0, 2)))
        later = every[len(every) // 2 + 1 :]
        assert _ids(read) == [e.stream_id for e in later if partition_of(e.stream_id, 2) == 0]

    async def test_a_partitioned_read_combines_with_category_and_event_types(
        self, store: EventStore
    ) -> None:
        _needs_the_driver_filter(store)
        every = await _one_event_each(store)
        read = await collect(
            store.read_category("Account", event_types=["Acc"], partition=Partition(2, 3))
        )
        wanted = [
            e
            for e in every
            if e.category == "Account"
            and e.event_type == "Acc"
            and partition_of(e.stream_id, 3) == 2
        ]
        assert wanted
        assert _ids(read) == _ids(wanted)

    async def test_a_partition_that_is_not_a_partition_is_invalid_input(
        self, store: EventStore
    ) -> None:
        for partition in ((0, 3), 1, "0/3"):
            with pytest.raises(InvalidInputError):
                store.read_all(partition=partition)  # type: ignore[arg-type]

    @pytest.mark.parametrize(("index", "count"), [(3, 3), (-1, 3), (0, 0), (True, 2)])
    async def test_a_partition_outside_its_count_is_invalid_input(
        self, index: int, count: int
    ) -> None:
        with pytest.raises(InvalidInputError):
            Partition(index, count)

"""Store contract: appends to several streams at once (`EventStore.append_many`)."""

from __future__ import annotations

from typing import Any

import pytest

from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
)
from eventsourcing_kit.stores import EventStore, StreamAppend
from eventsourcing_kit.testing._contract_support import (
    NO_STREAM,
    STREAM_EXISTS,
    collect,
    new,
    numbered,
)

__all__ = ["AppendManyContract"]


class AppendManyContract:
    """Multi-stream appends: all streams or none, each expected version checked."""

    async def test_append_many_writes_every_stream_and_returns_a_result_each(
        self, store: EventStore
    ) -> None:
        results = await store.append_many(
            [
                StreamAppend("Order-1", numbered(2), expected_version=0),
                StreamAppend("Stock-1", numbered(1), expected_version=NO_STREAM),
            ]
        )
        assert [(r.stream_id, r.version) for r in results] == [("Order-1", 2), ("Stock-1", 1)]
        assert [e.data["n"] for e in await collect(store.read_stream("Order-1"))] == [1, 2]
        assert [e.data["n"] for e in await collect(store.read_stream("Stock-1"))] == [1]

    async def test_append_many_results_point_at_each_streams_last_event(
        self, store: EventStore
    ) -> None:
        results = await store.append_many(
            [StreamAppend("Order-1", numbered(2)), StreamAppend("Stock-1", numbered(3))]
        )
        events = await collect(store.read_all())
        last = {e.stream_id: e for e in events}
        for result in results:
            assert result.position == last[result.stream_id].position
            assert result.global_position == last[result.stream_id].global_position

    async def test_append_many_events_follow_one_another_in_the_order_given(
        self, store: EventStore
    ) -> None:
        # What a copy of a store relies on (`eventsourcing-kit import`): a batch
        # of streams' events lands in the global order as it was given.
        await store.append_events("Stock-1", numbered(1))
        await store.append_many(
            [
                StreamAppend("Stock-1", numbered(2, start=2)),
                StreamAppend("Order-1", numbered(2)),
                StreamAppend("Cart-1", numbered(1)),
            ]
        )
        events = await collect(store.read_all())
        assert [(e.stream_id, e.data["n"]) for e in events] == [
            ("Stock-1", 1),
            ("Stock-1", 2),
            ("Stock-1", 3),
            ("Order-1", 1),
            ("Order-1", 2),
            ("Cart-1", 1),
        ]

    async def test_a_conflict_on_one_stream_writes_no_stream(self, store: EventStore) -> None:
        await store.append_events("Stock-1", numbered(1), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_many(
                [
                    StreamAppend("Order-1", numbered(2), expected_version=0),
                    StreamAppend("Stock-1", numbered(1), expected_version=0),
                ]
            )
        assert (raised.value.stream_id, raised.value.actual) == ("Stock-1", 1)
        assert await store.stream_version("Order-1") == 0
        assert len(await collect(store.read_all())) == 1

    async def test_a_missing_stream_that_must_exist_writes_no_stream(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_many(
                [
                    StreamAppend("Order-1", numbered(1)),
                    StreamAppend("Stock-1", numbered(1), expected_version=STREAM_EXISTS),
                ]
            )
        assert raised.value.stream_id == "Stock-1"
        assert await store.head_position() is None

    async def test_of_several_conflicts_the_first_stream_in_order_is_named(
        self, store: EventStore
    ) -> None:
        await store.append_events("Stock-1", numbered(2), expected_version=0)
        with pytest.raises(ConcurrencyError) as raised:
            await store.append_many(
                [
                    StreamAppend("Stock-1", numbered(1), expected_version=1),
                    StreamAppend("Order-1", numbered(1), expected_version=STREAM_EXISTS),
                ]
            )
        assert (raised.value.stream_id, raised.value.actual) == ("Stock-1", 2)
        assert await store.stream_version("Stock-1") == 2

    async def test_sending_append_many_again_returns_the_original_results(
        self, store: EventStore
    ) -> None:
        appends = [
            StreamAppend("Order-1", numbered(2), expected_version=0),
            StreamAppend("Stock-1", numbered(1), expected_version=0),
        ]
        first = await store.append_many(appends)
        again = await store.append_many(appends)
        assert again == first
        assert len(await collect(store.read_all())) == 3

    async def test_append_many_partly_stored_already_is_a_duplicate(
        self, store: EventStore
    ) -> None:
        stored = numbered(1)
        await store.append_events("Order-1", stored, expected_version=0)
        with pytest.raises(DuplicateEventError):
            await store.append_many(
                [
                    StreamAppend("Order-1", stored, expected_version=0),
                    StreamAppend("Stock-1", numbered(1), expected_version=0),
                ]
            )
        assert await store.stream_version("Stock-1") == 0

    async def test_an_event_id_stored_in_another_stream_writes_nothing(
        self, store: EventStore
    ) -> None:
        taken = new()
        await store.append_events("Order-9", [taken])
        with pytest.raises(DuplicateEventError):
            await store.append_many(
                [StreamAppend("Order-1", numbered(1)), StreamAppend("Stock-1", [taken])]
            )
        assert await store.stream_version("Order-1") == 0

    async def test_a_stream_named_twice_is_refused(self, store: EventStore) -> None:
        with pytest.raises(InvalidInputError, match="twice"):
            await store.append_many(
                [StreamAppend("Order-1", numbered(1)), StreamAppend("Order-1", numbered(1))]
            )

    async def test_an_event_id_used_in_two_streams_of_one_append_is_refused(
        self, store: EventStore
    ) -> None:
        shared = new()
        with pytest.raises(InvalidEventError, match="twice"):
            await store.append_many(
                [StreamAppend("Order-1", [shared]), StreamAppend("Stock-1", [shared])]
            )

    @pytest.mark.parametrize(
        "appends",
        [
            pytest.param([], id="empty"),
            pytest.param(StreamAppend("Order-1", []), id="bare-stream-append"),
            pytest.param([("Order-1", [])], id="tuple-item"),
            pytest.param("Order-1", id="str"),
            pytest.param(None, id="none"),
        ],
    )
    async def test_append_many_refuses_what_is_not_a_list_of_stream_appends(
        self, store: EventStore, appends: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await store.append_many(appends)

    async def test_append_many_checks_every_stream_before_writing(self, store: EventStore) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.append_many(
                [StreamAppend("Order-1", numbered(1)), StreamAppend("", [new()])]
            )
        with pytest.raises(InvalidExpectedVersionError):
            await store.append_many(
                [StreamAppend("Order-1", numbered(1)), StreamAppend("Stock-1", [new()], -1)]
            )
        assert await store.head_position() is None

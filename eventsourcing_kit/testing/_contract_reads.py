"""Store contract: read_stream, read_all, read_category, resuming and paging."""

from __future__ import annotations

import pytest

from eventsourcing_kit.stores import (
    EventStore,
    RecordedEvent,
)
from eventsourcing_kit.testing._contract_support import (
    ANY,
    DEFAULT_PAGE,
    ODD_STREAM_IDS,
    append_numbered,
    collect,
    new,
    numbered,
)

__all__ = ["ReadContract"]


class ReadContract:
    """Readers: order, filters, categories, exclusive resume, paging."""

    # --- read_stream -----------------------------------------------------------

    async def test_read_stream_yields_only_that_stream_oldest_first(
        self, store: EventStore
    ) -> None:
        for n in range(1, 4):
            await store.append_events("Account-1", numbered(1, start=n), expected_version=ANY)
            await store.append_events("Account-2", numbered(1, start=n), expected_version=ANY)
        events = await collect(store.read_stream("Account-1"))
        assert [(e.stream_id, e.version, e.data["n"]) for e in events] == [
            ("Account-1", 1, 1),
            ("Account-1", 2, 2),
            ("Account-1", 3, 3),
        ]

    async def test_read_stream_starts_at_from_version_inclusive(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        events = await collect(store.read_stream("Account-1", from_version=3))
        assert [e.version for e in events] == [3, 4, 5]

    async def test_read_stream_past_its_end_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        assert await collect(store.read_stream("Account-1", from_version=3)) == []

    async def test_read_stream_of_a_missing_stream_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        assert await collect(store.read_stream("Account-2")) == []

    async def test_read_stream_matches_the_stream_id_exactly(self, store: EventStore) -> None:
        for stream_id in ("Account-1", "Account-10", "account-1", "Account-1 "):
            await store.append_events(stream_id, numbered(1), expected_version=0)
        events = await collect(store.read_stream("Account-1"))
        assert [e.stream_id for e in events] == ["Account-1"]

    @pytest.mark.parametrize("stream_id", ODD_STREAM_IDS)
    async def test_any_printable_stream_id_up_to_255_chars_works(
        self, store: EventStore, stream_id: str
    ) -> None:
        await store.append_events(stream_id, numbered(2), expected_version=0)
        await store.append_events("Other-1", numbered(1), expected_version=0)
        events = await collect(store.read_stream(stream_id))
        assert [(e.stream_id, e.version) for e in events] == [(stream_id, 1), (stream_id, 2)]
        assert await store.stream_version(stream_id) == 2

    @pytest.mark.parametrize("stream_id", ODD_STREAM_IDS)
    async def test_any_printable_stream_id_is_read_by_its_category(
        self, store: EventStore, stream_id: str
    ) -> None:
        category = stream_id.partition("-")[0]
        await store.append_events(stream_id, numbered(2), expected_version=0)
        await store.append_events("Other-1", numbered(1), expected_version=0)
        events = await collect(store.read_category(category))
        assert [(e.stream_id, e.version) for e in events] == [(stream_id, 1), (stream_id, 2)]

    # --- read_all and read_category -------------------------------------------

    async def test_read_all_yields_every_event_in_append_order(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(2), expected_version=0)
        await store.append_events("Order-1", numbered(1, start=3), expected_version=0)
        await store.append_events("Account-1", numbered(2, start=4), expected_version=2)
        events = await collect(store.read_all())
        assert [(e.stream_id, e.data["n"]) for e in events] == [
            ("Account-1", 1),
            ("Account-1", 2),
            ("Order-1", 3),
            ("Account-1", 4),
            ("Account-1", 5),
        ]

    async def test_read_all_of_an_empty_store_yields_nothing(self, store: EventStore) -> None:
        assert await collect(store.read_all()) == []

    async def test_read_all_resumes_after_each_position_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(f"Account-{n % 3}", numbered(2), expected_version=ANY)
        events = await collect(store.read_all())
        for index, event in enumerate(events):
            rest = await collect(store.read_all(from_position=event.position))
            assert rest == events[index + 1 :], f"resumed after event {index}"

    async def test_read_all_from_the_head_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(3), expected_version=0)
        head = await store.head_position()
        assert head is not None
        assert await collect(store.read_all(from_position=head)) == []

    async def test_read_all_filters_by_event_types(self, store: EventStore) -> None:
        await store.append_events(
            "Account-1",
            [new("Opened"), new("Deposited"), new("Withdrawn"), new("Deposited")],
            expected_version=0,
        )
        await store.append_events("Order-1", [new("Placed"), new("Withdrawn")], expected_version=0)
        events = await collect(store.read_all(event_types=["Deposited", "Placed"]))
        assert [(e.stream_id, e.version, e.event_type) for e in events] == [
            ("Account-1", 2, "Deposited"),
            ("Account-1", 4, "Deposited"),
            ("Order-1", 1, "Placed"),
        ]

    async def test_read_all_accepts_any_iterable_of_event_types(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        from_set = await collect(store.read_all(event_types={"Deposited"}))
        from_generator = await collect(store.read_all(event_types=(t for t in ["Deposited"])))
        assert [e.event_type for e in from_set] == [e.event_type for e in from_generator]
        assert [e.event_type for e in from_set] == ["Deposited"]

    async def test_read_all_with_no_event_types_yields_nothing(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        assert await collect(store.read_all(event_types=[])) == []

    async def test_read_all_filtered_resumes_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(
                f"Account-{n % 2}", [new("Deposited"), new("Noise")], expected_version=ANY
            )
        wanted = await collect(store.read_all(event_types=["Deposited"]))
        assert len(wanted) == 6
        for index, event in enumerate(wanted):
            rest = await collect(
                store.read_all(from_position=event.position, event_types=["Deposited"])
            )
            assert rest == wanted[index + 1 :], f"resumed after event {index}"

    async def test_read_category_yields_only_streams_of_that_category(
        self, store: EventStore
    ) -> None:
        for stream_id in ("Account-1", "Accounts-1", "AccountX-1", "Account-2-b", "Order-1"):
            await store.append_events(stream_id, numbered(1), expected_version=0)
        await store.append_events("Account-1", numbered(1, start=2), expected_version=1)
        events = await collect(store.read_category("Account"))
        assert [(e.stream_id, e.version) for e in events] == [
            ("Account-1", 1),
            ("Account-2-b", 1),
            ("Account-1", 2),
        ]

    async def test_a_stream_id_without_a_dash_is_its_own_category(self, store: EventStore) -> None:
        await store.append_events("Account", numbered(1), expected_version=0)
        await store.append_events("Accounting-1", numbered(1), expected_version=0)
        events = await collect(store.read_category("Account"))
        assert [e.stream_id for e in events] == ["Account"]

    @pytest.mark.parametrize(
        ("category", "other"),
        [("A_c", "Abc-1"), ("A%", "Abc-1"), ("A.c", "Abc-1"), ("A*", "Abc-1"), ("a", "A-1")],
        ids=["underscore", "percent", "dot", "star", "case"],
    )
    async def test_read_category_matches_the_category_literally(
        self, store: EventStore, category: str, other: str
    ) -> None:
        await store.append_events(other, numbered(1), expected_version=0)
        await store.append_events(f"{category}-1", numbered(1), expected_version=0)
        events = await collect(store.read_category(category))
        assert [e.stream_id for e in events] == [f"{category}-1"]

    async def test_read_category_filters_by_event_types(self, store: EventStore) -> None:
        await store.append_events("Account-1", [new("Opened"), new("Deposited")])
        await store.append_events("Order-1", [new("Deposited")])
        await store.append_events("Account-2", [new("Deposited"), new("Closed")])
        events = await collect(store.read_category("Account", event_types=["Deposited"]))
        assert [(e.stream_id, e.event_type) for e in events] == [
            ("Account-1", "Deposited"),
            ("Account-2", "Deposited"),
        ]

    async def test_read_category_resumes_after_each_position_without_skip_or_repeat(
        self, store: EventStore
    ) -> None:
        for n in range(6):
            await store.append_events(f"Account-{n % 2}", numbered(1), expected_version=ANY)
            await store.append_events(f"Order-{n % 2}", numbered(1), expected_version=ANY)
        events = await collect(store.read_category("Account"))
        assert len(events) == 6
        for index, event in enumerate(events):
            rest = await collect(store.read_category("Account", from_position=event.position))
            assert rest == events[index + 1 :], f"resumed after event {index}"

    async def test_read_category_positions_resume_read_all(self, store: EventStore) -> None:
        # A subscription to one category may later widen to everything: the
        # positions it stored must mean the same thing to read_all.
        await store.append_events("Account-1", numbered(2), expected_version=0)
        await store.append_events("Order-1", numbered(2), expected_version=0)
        [first, _] = await collect(store.read_category("Account"))
        rest = await collect(store.read_all(from_position=first.position))
        assert [(e.stream_id, e.version) for e in rest] == [
            ("Account-1", 2),
            ("Order-1", 1),
            ("Order-1", 2),
        ]

    # --- paging ---------------------------------------------------------------

    async def test_read_stream_pages_through_more_than_one_page(self, store: EventStore) -> None:
        await store.append_events("Account-1", numbered(10), expected_version=0)
        events = await collect(store.read_stream("Account-1", batch_size=3))
        assert [e.version for e in events] == list(range(1, 11))

    async def test_read_all_pages_through_more_than_one_page(self, store: EventStore) -> None:
        for n in range(10):
            await store.append_events(f"Account-{n % 3}", numbered(1, start=n))
        events = await collect(store.read_all(batch_size=3))
        assert [e.data["n"] for e in events] == list(range(10))

    async def test_read_category_pages_through_more_than_one_page(self, store: EventStore) -> None:
        for n in range(10):
            await store.append_events(f"Account-{n % 3}", numbered(1, start=n))
            await store.append_events("Order-1", numbered(1, start=n))
        events = await collect(store.read_category("Account", batch_size=3))
        assert [e.data["n"] for e in events] == list(range(10))

    async def test_read_all_pages_past_long_runs_of_filtered_out_events(
        self, store: EventStore
    ) -> None:
        # A reader that stops at the first page the filter leaves empty loses the rest.
        for n in range(5):
            await store.append_events("Account-1", [new("Noise") for _ in range(7)])
            await store.append_events("Account-1", [new("Wanted", {"n": n})])
        events = await collect(store.read_all(event_types=["Wanted"], batch_size=3))
        assert [e.data["n"] for e in events] == list(range(5))

    async def test_event_types_given_as_a_generator_filter_every_page(
        self, store: EventStore
    ) -> None:
        # A reader that re-iterates the filter per page finds a spent generator
        # on its second page.
        for n in range(6):
            await store.append_events("Account-1", [new("Noise"), new("Wanted", {"n": n})])
        events = await collect(store.read_all(event_types=(t for t in ["Wanted"]), batch_size=2))
        assert [(e.event_type, e.data["n"]) for e in events] == [("Wanted", n) for n in range(6)]

    async def test_read_category_pages_past_long_runs_of_other_categories(
        self, store: EventStore
    ) -> None:
        for n in range(5):
            await store.append_events("Order-1", numbered(7))
            await store.append_events("Account-1", numbered(1, start=n))
        events = await collect(store.read_category("Account", batch_size=3))
        assert [e.data["n"] for e in events] == list(range(5))

    async def test_readers_page_past_the_default_page_size(self, store: EventStore) -> None:
        count = DEFAULT_PAGE + 3
        await append_numbered(store, "Account-1", count, expected_version=0)
        in_stream = await collect(store.read_stream("Account-1"))
        in_all = await collect(store.read_all())
        in_category = await collect(store.read_category("Account"))
        expected = list(range(1, count + 1))
        assert [e.data["n"] for e in in_stream] == expected
        assert [e.data["n"] for e in in_all] == expected
        assert [e.data["n"] for e in in_category] == expected

    async def test_read_all_interleaved_with_appends_neither_skips_nor_repeats(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        seen: list[RecordedEvent] = []
        async for event in store.read_all(batch_size=2):
            seen.append(event)
            if len(seen) <= 6:
                await store.append_events(f"Other-{len(seen)}", numbered(1))
        everything = await collect(store.read_all())
        assert len(seen) >= 5
        assert seen == everything[: len(seen)]
        rest = await collect(store.read_all(from_position=seen[-1].position))
        assert seen + rest == everything

    async def test_read_stream_interleaved_with_appends_neither_skips_nor_repeats(
        self, store: EventStore
    ) -> None:
        await store.append_events("Account-1", numbered(5), expected_version=0)
        seen: list[RecordedEvent] = []
        async for event in store.read_stream("Account-1", batch_size=2):
            seen.append(event)
            if len(seen) <= 6:
                await store.append_events("Account-1", numbered(1, start=5 + len(seen)))
        assert len(seen) >= 5
        assert [e.version for e in seen] == list(range(1, len(seen) + 1))
        rest = await collect(store.read_stream("Account-1", from_version=len(seen) + 1))
        assert [e.version for e in seen + rest] == list(range(1, 12))

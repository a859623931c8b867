"""Store contract: bad input is rejected with the kit's errors before anything is written."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import pytest

from eventsourcing_kit.errors import (
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
    SerializationError,
)
from eventsourcing_kit.stores import (
    EventStore,
    NewEvent,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.testing._contract_support import (
    ANY,
    BAD_STREAM_IDS,
    UNSERIALIZABLE_DATA,
    collect,
    new,
    numbered,
)

__all__ = ["ValidationContract"]


class ValidationContract:
    """Every argument is checked, and a rejected append leaves the store untouched."""

    # --- input validation ------------------------------------------------------

    @pytest.mark.parametrize("stream_id", BAD_STREAM_IDS)
    async def test_append_rejects_a_bad_stream_id(self, store: EventStore, stream_id: Any) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.append_events(stream_id, numbered(1), expected_version=ANY)
        assert await store.head_position() is None

    @pytest.mark.parametrize("stream_id", BAD_STREAM_IDS)
    async def test_read_stream_rejects_a_bad_stream_id(
        self, store: EventStore, stream_id: Any
    ) -> None:
        with pytest.raises(InvalidStreamIdError):
            await collect(store.read_stream(stream_id))

    @pytest.mark.parametrize("stream_id", BAD_STREAM_IDS)
    async def test_stream_version_rejects_a_bad_stream_id(
        self, store: EventStore, stream_id: Any
    ) -> None:
        with pytest.raises(InvalidStreamIdError):
            await store.stream_version(stream_id)

    @pytest.mark.parametrize("expected", [True, False, -1, "1", 1.0, "any"], ids=repr)
    async def test_append_rejects_a_bad_expected_version(
        self, store: EventStore, expected: Any
    ) -> None:
        with pytest.raises(InvalidExpectedVersionError):
            await store.append_events("Account-1", numbered(1), expected_version=expected)
        assert await store.head_position() is None

    @pytest.mark.parametrize(
        "events",
        [
            pytest.param([], id="empty-list"),
            pytest.param((), id="empty-tuple"),
            pytest.param(new(), id="bare-new-event"),
            pytest.param([{"event_type": "Happened", "data": {}}], id="dict-item"),
            pytest.param([new(), ("Happened", {})], id="tuple-item"),
            pytest.param([new(), None], id="none-item"),
            pytest.param("Happened", id="str"),
            pytest.param(None, id="none"),
        ],
    )
    async def test_append_rejects_a_batch_that_is_not_a_list_of_new_events(
        self, store: EventStore, events: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", events, expected_version=ANY)
        assert await store.head_position() is None

    @pytest.mark.parametrize(
        "data", [[1, 2], "text", None, 42, [("a", 1)]], ids=["list", "str", "none", "int", "pairs"]
    )
    async def test_append_rejects_data_that_is_not_a_dict(
        self, store: EventStore, data: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events(
                "Account-1", [new(), NewEvent(event_type="Happened", data=data)]
            )
        assert await store.head_position() is None

    async def test_append_rejects_metadata_that_is_not_a_dict(self, store: EventStore) -> None:
        bad = NewEvent(event_type="Happened", data={}, metadata=[("user", "ada")])  # type: ignore[arg-type]
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [bad])
        assert await store.head_position() is None

    @pytest.mark.parametrize("data", UNSERIALIZABLE_DATA)
    async def test_append_rejects_unserializable_data(
        self, store: EventStore, data: dict[Any, Any]
    ) -> None:
        with pytest.raises(SerializationError):
            await store.append_events("Account-1", [new(data=data)])
        assert await store.head_position() is None

    @pytest.mark.parametrize("metadata", UNSERIALIZABLE_DATA)
    async def test_append_rejects_unserializable_metadata(
        self, store: EventStore, metadata: dict[Any, Any]
    ) -> None:
        with pytest.raises(SerializationError):
            await store.append_events("Account-1", [new(), new(metadata=metadata)])
        assert await store.head_position() is None

    @pytest.mark.parametrize("data", UNSERIALIZABLE_DATA)
    async def test_save_snapshot_rejects_unserializable_data(
        self, store: EventStore, data: dict[Any, Any]
    ) -> None:
        await store.append_events("Account-1", numbered(1))
        with pytest.raises(SerializationError):
            await store.save_snapshot(
                Snapshot(stream_id="Account-1", version=1, state_schema="Account:1", data=data)
            )
        assert await store.load_snapshot("Account-1") is None

    async def test_text_that_only_looks_like_a_refused_value_is_stored(
        self, store: EventStore
    ) -> None:
        # An escaped backslash before "u0000", "-0.0" in a string: not NUL, not -0.0.
        data = {"path": "C:\\u0000", "note": "-0.0", "list": [0.0, "\\u0000"]}
        await store.append_events("Account-1", [new(data=data, metadata=data)])
        [stored] = await collect(store.read_stream("Account-1"))
        assert (dict(stored.data), dict(stored.metadata)) == (data, data)

    @pytest.mark.parametrize(
        "event_type",
        [
            pytest.param("", id="empty"),
            pytest.param("x" * 256, id="256-chars"),
            pytest.param("Happened\n", id="newline"),
            pytest.param(42, id="int"),
            pytest.param(None, id="none"),
        ],
    )
    async def test_append_rejects_a_bad_event_type(
        self, store: EventStore, event_type: Any
    ) -> None:
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [NewEvent(event_type=event_type, data={})])
        assert await store.head_position() is None

    async def test_append_rejects_an_event_id_that_is_not_a_uuid(self, store: EventStore) -> None:
        bad = NewEvent(event_type="Happened", data={}, event_id=str(uuid4()))  # type: ignore[arg-type]
        with pytest.raises(InvalidEventError):
            await store.append_events("Account-1", [bad])
        assert await store.head_position() is None

    @pytest.mark.parametrize("from_version", [0, -1, True, "1", 1.0], ids=repr)
    async def test_read_stream_rejects_a_bad_from_version(
        self, store: EventStore, from_version: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_stream("Account-1", from_version=from_version))

    _READERS: dict[str, Callable[..., AsyncIterator[RecordedEvent]]] = {
        "read_stream": lambda store, **kw: store.read_stream("Account-1", **kw),
        "read_all": lambda store, **kw: store.read_all(**kw),
        "read_category": lambda store, **kw: store.read_category("Account", **kw),
    }
    _FILTERING_READERS = ["read_all", "read_category"]

    @pytest.mark.parametrize("reader", sorted(_READERS))
    @pytest.mark.parametrize("batch_size", [0, -1, True, 1.5, "10"], ids=repr)
    async def test_readers_reject_a_bad_batch_size(
        self, store: EventStore, reader: str, batch_size: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, batch_size=batch_size))

    @pytest.mark.parametrize("reader", _FILTERING_READERS)
    @pytest.mark.parametrize(
        "event_types",
        [
            pytest.param("Deposited", id="bare-str"),
            pytest.param(42, id="int"),
            pytest.param([""], id="empty-name"),
            pytest.param([42], id="int-name"),
        ],
    )
    async def test_readers_reject_bad_event_types(
        self, store: EventStore, reader: str, event_types: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, event_types=event_types))

    @pytest.mark.parametrize("reader", _FILTERING_READERS)
    @pytest.mark.parametrize("from_position", [-1, "1", True, 1.5, [1]], ids=repr)
    async def test_readers_reject_a_bad_from_position(
        self, store: EventStore, reader: str, from_position: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(self._READERS[reader](store, from_position=from_position))

    @pytest.mark.parametrize("category", ["", "Account-1", 42, None, "Acc\nount"], ids=repr)
    async def test_read_category_rejects_a_bad_category(
        self, store: EventStore, category: Any
    ) -> None:
        with pytest.raises(InvalidInputError):
            await collect(store.read_category(category))

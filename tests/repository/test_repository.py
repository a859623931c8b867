"""Repository: load, save, snapshots, and update with retries.

Every test that asks for `store` runs on memory, SQLite and PostgreSQL (the
store plugin's `store` fixture, enabled in the root conftest.py).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any
from uuid import uuid4

import attrs
import pytest
from repository_support import Added, Counter
from structlog.testing import capture_logs

from eventsourcing_kit import (
    Aggregate,
    AggregateNotFound,
    ConcurrencyError,
    EventStore,
    NewEvent,
    Repository,
    Snapshot,
)
from eventsourcing_kit.errors import (
    ConfigurationError,
    InvalidInputError,
    StoreUnavailableError,
    UnknownEventTypeError,
)


def counter_with(*amounts: int) -> Counter:
    counter = Counter()
    for amount in amounts:
        counter.add(amount)
    return counter


async def test_a_saved_aggregate_loads_with_the_same_state_and_version(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1, 2, 3)
    result = await repository.save(counter)
    assert result is not None and result.version == 3
    assert counter.pending_events == []
    assert await repository.load(counter.id) == counter


async def test_saving_nothing_pending_writes_nothing(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    await repository.save(counter)
    assert await repository.save(counter) is None
    assert await store.stream_version(counter.stream_id) == 1


async def test_loading_a_missing_aggregate_raises_aggregate_not_found(store: EventStore) -> None:
    missing = uuid4()
    with pytest.raises(AggregateNotFound) as caught:
        await Repository(Counter, store).load(missing)
    assert caught.value.stream_id == f"Counter-{missing}"


async def test_saving_a_stale_aggregate_raises_and_writes_nothing(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    await repository.save(counter)
    first, second = await repository.load(counter.id), await repository.load(counter.id)
    first.add(10)
    await repository.save(first)
    second.add(20)
    with pytest.raises(ConcurrencyError) as caught:
        await repository.save(second)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert (await repository.load(counter.id)).total == 11


async def test_saving_a_new_aggregate_over_an_existing_stream_is_a_conflict(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    await repository.save(counter)
    twin = Counter(id=counter.id)
    twin.add(5)
    with pytest.raises(ConcurrencyError):
        await repository.save(twin)


async def test_metadata_given_to_save_is_on_every_event(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1, 2)
    await repository.save(counter, metadata={"correlation_id": "c-1", "causation_id": "cmd-9"})
    metadata = [dict(e.metadata) async for e in store.read_stream(counter.stream_id)]
    assert metadata == [{"correlation_id": "c-1", "causation_id": "cmd-9"}] * 2


async def test_a_snapshot_is_taken_when_a_multiple_of_snapshot_every_is_crossed(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, snapshot_every=3)
    counter = counter_with(1, 1)
    await repository.save(counter)
    assert await store.load_snapshot(counter.stream_id) is None
    counter.add(1)
    counter.add(1)
    await repository.save(counter)
    snapshot = await store.load_snapshot(counter.stream_id)
    assert snapshot is not None
    assert (snapshot.version, snapshot.data) == (4, {"total": 4, "history": [1, 1, 1, 1]})


async def test_load_replays_only_the_events_after_the_snapshot(store: EventStore) -> None:
    repository = Repository(Counter, store, snapshot_every=3)
    counter = counter_with(1, 2, 3, 4)  # crosses 3: a snapshot at version 4
    await repository.save(counter)
    with capture_logs() as logs:
        loaded = await repository.load(counter.id)
    assert loaded == counter
    loaded_line = next(line for line in logs if line["event"] == "loaded")
    assert (loaded_line["from_snapshot"], loaded_line["replayed"]) == (True, 0)
    counter.add(5)  # version 5 crosses no multiple of 3: no new snapshot
    await repository.save(counter)
    with capture_logs() as logs:
        assert await repository.load(counter.id) == counter
    loaded_line = next(line for line in logs if line["event"] == "loaded")
    assert loaded_line["replayed"] == 1


async def test_a_snapshot_of_another_state_shape_is_ignored_and_rebuilt_from_events(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, snapshot_every=2)
    counter = counter_with(1, 2)
    await repository.save(counter)
    await store.save_snapshot(
        Snapshot(
            stream_id=counter.stream_id,
            version=2,
            state_schema="an-older-shape",
            data={"count": 999},
        )
    )
    with capture_logs() as logs:
        loaded = await repository.load(counter.id)
    assert loaded == counter
    assert any(line["event"] == "snapshot ignored: state shape changed" for line in logs)


async def test_a_snapshot_whose_data_does_not_decode_is_ignored(store: EventStore) -> None:
    repository = Repository(Counter, store, snapshot_every=2)
    counter = counter_with(1, 2)
    await repository.save(counter)
    await store.save_snapshot(
        Snapshot(
            stream_id=counter.stream_id,
            version=2,
            state_schema=repository.state.schema,
            data={"total": "not a number", "history": "nope"},
        )
    )
    assert await repository.load(counter.id) == counter


def test_a_changed_field_type_changes_the_state_schema() -> None:
    @attrs.define
    class CounterV2(Aggregate):
        event_types = (Added,)
        total: float = 0.0
        history: tuple[int, ...] = ()

    @attrs.define
    class CounterV2Again(Aggregate):
        event_types = (Added,)
        total: float = 0.0
        history: tuple[int, ...] = ()

    schema = Repository(Counter, _NeverUsed()).state.schema
    assert Repository(CounterV2, _NeverUsed()).state.schema != schema
    # The fingerprint is stable for one shape: the same class gives the same schema.
    assert Repository(Counter, _NeverUsed()).state.schema == schema
    assert CounterV2Again.__name__ != CounterV2.__name__


async def test_a_failed_snapshot_never_fails_the_save(store: EventStore) -> None:
    repository = Repository(Counter, _FailingSnapshots(store), snapshot_every=1)
    counter = counter_with(1)
    with capture_logs() as logs:
        result = await repository.save(counter)
    assert result is not None and result.version == 1
    assert await store.stream_version(counter.stream_id) == 1
    assert any(line["event"] == "snapshot failed; the save stands" for line in logs)


async def test_update_runs_the_command_and_saves(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    await repository.save(counter)
    updated = await repository.update(counter.id, lambda c: c.add(41))
    assert updated.total == 42
    assert (await repository.load(counter.id)).total == 42


async def test_update_reruns_the_command_on_fresh_state_after_a_concurrent_write(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, rng=random.Random(1))
    # A second repository: a writer elsewhere (one repository queues its own
    # updates of an aggregate instead of letting them race).
    elsewhere = Repository(Counter, store, rng=random.Random(2))
    counter = counter_with(1)
    await repository.save(counter)
    runs: list[int] = []
    gate = asyncio.Barrier(2)

    def adding(amount: int) -> Any:
        async def command(c: Counter) -> None:
            runs.append(amount)
            if runs.count(amount) == 1:
                await gate.wait()
            c.add(amount)

        return command

    with capture_logs() as logs:
        await asyncio.gather(
            repository.update(counter.id, adding(10)), elsewhere.update(counter.id, adding(100))
        )
    loaded = await repository.load(counter.id)
    assert loaded.total == 111
    assert loaded.version == 3
    assert len(runs) == 3
    retries = [line for line in logs if line["event"] == "concurrent write; retrying update"]
    assert len(retries) == 1
    assert retries[0]["stream_id"] == counter.stream_id and retries[0]["attempt"] == 1


async def test_update_does_not_retry_a_domain_error(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    await repository.save(counter)
    calls = 0

    def refuse(c: Counter) -> None:
        nonlocal calls
        calls += 1
        c.add(-1)

    with pytest.raises(ValueError, match="positive"):
        await repository.update(counter.id, refuse)
    assert calls == 1
    assert await store.stream_version(counter.stream_id) == 1


async def test_update_gives_up_after_max_attempts(store: EventStore) -> None:
    repository = Repository(Counter, store, max_attempts=3, backoff_base=0.0)
    counter = counter_with(1)
    await repository.save(counter)
    calls = 0

    async def always_beaten(c: Counter) -> None:
        nonlocal calls
        calls += 1
        # Another writer commits between this command's load and its save.
        await store.append_events(c.stream_id, [NewEvent("Added", {"amount": 1})])
        c.add(5)

    with pytest.raises(ConcurrencyError):
        await repository.update(counter.id, always_beaten)
    assert calls == 3


async def test_an_event_type_the_class_does_not_know_fails_the_load_clearly(
    store: EventStore,
) -> None:
    counter = counter_with(1)
    await Repository(Counter, store).save(counter)
    await store.append_events(counter.stream_id, [NewEvent("Removed", {"amount": 1})])
    with pytest.raises(UnknownEventTypeError, match="Removed"):
        await Repository(Counter, store).load(counter.id)


def test_a_repository_needs_an_aggregate_with_event_types() -> None:
    @attrs.define
    class Empty(Aggregate):
        pass

    with pytest.raises(ConfigurationError, match="event_types"):
        Repository(Empty, _NeverUsed())
    with pytest.raises(ConfigurationError, match="Aggregate subclass"):
        Repository(int, _NeverUsed())  # type: ignore[type-var]


def test_snapshot_every_must_be_a_non_negative_int() -> None:
    with pytest.raises(ConfigurationError, match="snapshot_every"):
        Repository(Counter, _NeverUsed(), snapshot_every=-1)


class _NeverUsed:
    """A placeholder store for tests that only build a repository."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"store.{name} was used")


class _FailingSnapshots:
    """A real store whose snapshot writes fail, as a full disk would make them."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        raise OSError("disk full")


async def test_saving_again_after_a_lost_reply_writes_the_events_once(store: EventStore) -> None:
    repository = Repository(Counter, _LosesFirstReply(store))
    counter = counter_with(1, 2)
    with pytest.raises(StoreUnavailableError):
        await repository.save(counter)
    result = await repository.save(counter)  # the same aggregate, the same event ids
    assert result is not None
    assert result.version == 2
    assert await store.stream_version(counter.stream_id) == 2
    assert counter.pending_events == []


async def test_update_survives_a_lost_reply_without_running_the_command_twice(
    store: EventStore,
) -> None:
    counter = counter_with(1)
    await Repository(Counter, store).save(counter)
    repository = Repository(Counter, _LosesFirstReply(store), backoff_base=0.0)
    runs = 0

    def add_ten(c: Counter) -> None:
        nonlocal runs
        runs += 1
        c.add(10)

    await repository.update(counter.id, add_ten)
    assert runs == 1
    assert (await repository.load(counter.id)).total == 11


def test_pending_event_ids_are_chosen_when_recorded_and_kept_until_saved() -> None:
    counter = counter_with(1, 2)
    ids = counter.pending_event_ids
    assert len(set(ids)) == 2
    assert counter.pending_event_ids == ids
    counter.pending_events.clear()
    counter.add(3)
    assert len(counter.pending_event_ids) == 1
    assert counter.pending_event_ids[0] not in ids


def test_renaming_a_field_of_a_nested_class_changes_the_state_schema() -> None:
    @attrs.frozen
    class LimitsV1:
        daily: int = 0

    @attrs.frozen
    class LimitsV2:
        per_day: int = 0

    def schema_with(limits_type: type) -> str:
        account = attrs.make_class(
            "Account",
            {"limits": attrs.field(type=list[limits_type], factory=list)},  # type: ignore[valid-type]
            bases=(Aggregate,),
        )
        account.event_types = (Added,)
        return Repository(account, _NeverUsed()).state.schema

    LimitsV2.__qualname__ = LimitsV1.__qualname__  # same name, other shape
    assert schema_with(LimitsV1) != schema_with(LimitsV2)


class _LosesFirstReply:
    """A real store whose first append commits, then reports the connection lost."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._lost = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append_events(self, stream_id: str, events: Any, **options: Any) -> Any:
        result = await self._store.append_events(stream_id, events, **options)
        if not self._lost:
            self._lost = True
            raise StoreUnavailableError("the connection closed before the reply")
        return result


def test_a_class_in_event_types_that_is_not_attrs_is_the_kits_error() -> None:
    class NotAnEvent:
        pass

    @attrs.define
    class Lax(Aggregate):
        event_types = (NotAnEvent,)

    with pytest.raises(ConfigurationError, match="NotAnEvent is not an attrs class"):
        Repository(Lax, _NeverUsed())


async def test_load_at_a_version_gives_the_state_after_that_many_events(store: EventStore) -> None:
    repository = Repository(Counter, store, snapshot_every=None)
    counter = counter_with(1, 2, 3)
    await repository.save(counter)
    past = await repository.load(counter.id, version=2)
    assert (past.total, past.history, past.version, past.id) == (3, (1, 2), 2, counter.id)
    assert await repository.load(counter.id, version=3) == counter


async def test_load_at_a_version_before_the_snapshot_replays_from_the_first_event(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, snapshot_every=3)
    counter = counter_with(1, 2, 3, 4, 5)  # a snapshot at version 5
    await repository.save(counter)
    before = await repository.load_with_info(counter.id, version=3)
    assert (before.aggregate.total, before.aggregate.version) == (6, 3)
    assert (before.from_snapshot, before.snapshot_version, before.replayed) == (False, None, 3)
    at = await repository.load_with_info(counter.id, version=5)
    assert (at.aggregate.total, at.from_snapshot, at.snapshot_version, at.replayed) == (
        15,
        True,
        5,
        0,
    )


async def test_load_with_info_tells_the_snapshot_and_the_events_replayed(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, snapshot_every=3)
    counter = counter_with(1, 2, 3, 4)  # a snapshot at version 4
    counter.add(5)
    await repository.save(counter)
    counter.add(6)
    await repository.save(counter)  # version 6: a snapshot again
    counter.add(7)
    await repository.save(counter)
    loaded = await repository.load_with_info(counter.id)
    assert loaded.aggregate == counter
    assert (loaded.from_snapshot, loaded.snapshot_version, loaded.replayed) == (True, 6, 1)
    without = Repository(Counter, store, snapshot_every=None)
    assert (await without.load_with_info(counter.id)).replayed == 7
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        loaded.replayed = 0  # type: ignore[misc]


async def test_load_beyond_the_streams_version_is_not_found(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1, 2)
    await repository.save(counter)
    with pytest.raises(AggregateNotFound, match="is at version 2") as caught:
        await repository.load(counter.id, version=3)
    assert (caught.value.version, caught.value.actual) == (3, 2)


@pytest.mark.parametrize("version", [0, -1, True, 1.0, "2"])
async def test_load_refuses_a_version_that_is_not_a_positive_int(
    store: EventStore, version: Any
) -> None:
    repository = Repository(Counter, store)
    with pytest.raises(InvalidInputError, match="invalid version"):
        await repository.load(uuid4(), version=version)


async def test_exists_tells_whether_the_aggregate_has_events(store: EventStore) -> None:
    repository = Repository(Counter, store)
    counter = counter_with(1)
    assert not await repository.exists(counter.id)
    await repository.save(counter)
    assert await repository.exists(counter.id)

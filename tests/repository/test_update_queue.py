"""Concurrent updates of one aggregate in one repository: queued, run in turn, saved together.

Every test that asks for `store` runs on each backend of the store plugin
(memory, SQLite, PostgreSQL, DynamoDB), through its `store_factory`.
"""

from __future__ import annotations

import asyncio
import contextvars
import types
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs
import pytest
from repository_support import Counter
from structlog.testing import capture_logs

from eventsourcing_kit import EventStore, NewEvent, Repository
from eventsourcing_kit.errors import ConfigurationError, StoreUnavailableError, UpdateGaveUpError
from eventsourcing_kit.testing import StoreFactory

WRITERS = 16


@attrs.define
class Opaque(Counter):
    """A Counter holding a value that is not data: its state cannot be copied through JSON."""

    lock: asyncio.Lock = attrs.field(factory=asyncio.Lock, eq=False)


class CountingAppends:
    """A real store that counts the appends made through it."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.appends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append_events(self, *args: Any, **kwargs: Any) -> Any:
        self.appends += 1
        return await self._store.append_events(*args, **kwargs)


async def new_tally(repository: Repository[Any], cls: type[Counter] = Counter) -> UUID:
    tally = cls()
    tally.add(1)
    await repository.save(tally)
    return tally.id


class Held:
    """An update that keeps the aggregate's turn until released: later updates queue."""

    def __init__(self, repository: Repository[Any], tally_id: UUID) -> None:
        self._release = asyncio.Event()
        self.task = asyncio.create_task(repository.update(tally_id, self._held))

    async def _held(self, tally: Counter) -> None:
        await self._release.wait()
        tally.add(1)

    async def started(self) -> Held:
        await asyncio.sleep(0.01)
        return self

    async def release(self) -> None:
        self._release.set()
        await self.task


async def behind_a_held_update(
    repository: Repository[Any], tally_id: UUID, updates: Sequence[Awaitable[Any]]
) -> list[Any]:
    """Outcomes of `updates` queued behind a held update (that adds 1): they run in batches.

    Without it, on a store whose calls do not yield (memory), each update
    would find the aggregate idle and run alone.
    """
    held = await Held(repository, tally_id).started()
    queued = asyncio.gather(*updates, return_exceptions=True)
    await asyncio.sleep(0.01)
    await held.release()
    return await queued


async def between_two_adds(
    repository: Repository[Any], tally_id: UUID, command: Callable[[Counter], Any]
) -> list[Any]:
    """Outcomes of `command` queued between two updates that add 2 and 3 (in one batch)."""
    return await behind_a_held_update(
        repository,
        tally_id,
        [
            repository.update(tally_id, lambda t: t.add(2)),
            repository.update(tally_id, command),
            repository.update(tally_id, lambda t: t.add(3)),
        ],
    )


def retries(logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [line for line in logs if line["event"] == "concurrent write; retrying update"]


async def test_concurrent_updates_of_one_aggregate_all_succeed_without_a_retry(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)
    runs = 0

    def add_one(tally: Counter) -> None:
        nonlocal runs
        runs += 1
        tally.add(1)

    with capture_logs() as logs:
        await asyncio.gather(*(repository.update(tally_id, add_one) for _ in range(WRITERS)))
    assert runs == WRITERS  # every command ran once: none lost a race
    assert retries(logs) == []
    assert (await repository.load(tally_id)).total == 1 + WRITERS


async def test_queued_updates_are_saved_several_to_an_append(store: EventStore) -> None:
    counting = CountingAppends(store)
    repository = Repository(Counter, counting)  # type: ignore[arg-type]
    tally_id = await new_tally(repository)
    counting.appends = 0
    updates = [repository.update(tally_id, lambda t: t.add(1)) for _ in range(WRITERS)]
    await behind_a_held_update(repository, tally_id, updates)
    assert counting.appends == 2  # the held update's, then one for all the queued ones
    assert (await repository.load(tally_id)).version == 2 + WRITERS


async def test_update_batch_size_bounds_the_commands_of_one_append(store: EventStore) -> None:
    counting = CountingAppends(store)
    repository = Repository(Counter, counting, update_batch_size=2)  # type: ignore[arg-type]
    tally_id = await new_tally(repository)
    counting.appends = 0
    updates = [repository.update(tally_id, lambda t: t.add(1)) for _ in range(6)]
    await behind_a_held_update(repository, tally_id, updates)
    assert counting.appends == 1 + 3
    assert (await repository.load(tally_id)).total == 8


async def test_a_raising_command_saves_nothing_and_the_others_commit(store: EventStore) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)

    def record_then_refuse(tally: Counter) -> None:
        tally.add(100)  # recorded and applied, then the command fails
        tally.total = -1  # and it changed state outside apply, too
        raise RuntimeError("refused")

    outcomes = await between_two_adds(repository, tally_id, record_then_refuse)
    assert isinstance(outcomes[1], RuntimeError)
    after = outcomes[2]  # the command queued after the one that raised
    assert isinstance(after, Counter)
    assert (after.history, after.total, after.version) == ((1, 1, 2, 3), 7, 4)
    loaded = await repository.load(tally_id)
    assert loaded.history == (1, 1, 2, 3)
    assert (loaded.total, loaded.version) == (7, 4)
    assert [e.data["amount"] async for e in store.read_stream(loaded.stream_id)] == [1, 1, 2, 3]


async def test_a_queued_command_that_ends_cancelled_cancels_only_its_own_update(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)

    async def cancelled_midway(tally: Counter) -> None:
        tally.add(100)
        raise asyncio.CancelledError  # as when what the command awaited was cancelled

    outcomes = await between_two_adds(repository, tally_id, cancelled_midway)
    assert isinstance(outcomes[1], asyncio.CancelledError)
    assert [type(outcome) for outcome in (outcomes[0], outcomes[2])] == [Counter, Counter]
    loaded = await repository.load(tally_id)
    assert (loaded.history, loaded.version) == ((1, 1, 2, 3), 4)


async def test_each_caller_gets_the_aggregate_just_after_its_own_command(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)
    amounts = list(range(2, 2 + WRITERS))
    updates = [repository.update(tally_id, lambda t, n=n: t.add(n)) for n in amounts]
    saved = await behind_a_held_update(repository, tally_id, updates)
    versions = {}
    for amount, tally in zip(amounts, saved, strict=True):
        assert tally.history[-1] == amount
        assert tally.total == sum(tally.history)
        assert tally.pending_events == []
        versions[tally.version] = amount
    assert len({id(tally) for tally in saved}) == WRITERS  # no object is shared
    stored = {e.version: e.data["amount"] async for e in store.read_stream(saved[0].stream_id)}
    assert all(stored[version] == amount for version, amount in versions.items())


async def test_a_state_that_does_not_copy_is_saved_one_command_at_a_time(
    store: EventStore,
) -> None:
    counting = CountingAppends(store)
    repository = Repository(Opaque, counting)  # type: ignore[arg-type]
    tally_id = await new_tally(repository, Opaque)
    counting.appends = 0
    updates = [repository.update(tally_id, lambda t, n=n: t.add(n)) for n in range(2, 6)]
    saved = await behind_a_held_update(repository, tally_id, updates)
    assert counting.appends == 1 + 4  # the held update's, then one per command
    assert [tally.history[-1] for tally in saved] == [2, 3, 4, 5]
    assert len({id(tally) for tally in saved}) == 4


async def test_cancelling_a_queued_caller_drops_its_command_and_no_other(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)
    release = asyncio.Event()
    ran: list[int] = []

    async def held(tally: Counter) -> None:
        await release.wait()  # keeps the aggregate's turn while the others queue
        tally.add(2)

    def adding(amount: int) -> Any:
        def command(tally: Counter) -> None:
            ran.append(amount)
            tally.add(amount)

        return command

    first = asyncio.create_task(repository.update(tally_id, held))
    await asyncio.sleep(0.01)
    cancelled = asyncio.create_task(repository.update(tally_id, adding(100)))
    kept = asyncio.create_task(repository.update(tally_id, adding(3)))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    release.set()
    await first
    await kept
    assert cancelled.cancelled()
    assert ran == [3]
    assert (await repository.load(tally_id)).history == (1, 2, 3)


async def test_a_write_from_another_process_still_makes_the_batch_retry(
    store: EventStore, store_backend: str, store_factory: StoreFactory
) -> None:
    repository = Repository(Counter, store, backoff_base=0.001)
    tally_id = await new_tally(repository)
    # Another process: its own store object on the same storage where there is one.
    elsewhere = store if store_backend == "memory" else await store_factory.reopen(store)
    other = Repository(Counter, elsewhere)
    runs = 0

    async def beaten_once(tally: Counter) -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            await other.update(tally_id, lambda t: t.add(1000))
        tally.add(2)

    held = await Held(repository, tally_id).started()
    with capture_logs() as logs:
        batch = asyncio.gather(
            repository.update(tally_id, beaten_once),  # queued: one batch
            repository.update(tally_id, lambda t: t.add(3)),
        )
        await asyncio.sleep(0.01)
        await held.release()
        saved = await batch
    assert runs == 2
    assert len(retries(logs)) == 1
    assert [tally.history for tally in saved] == [(1, 1, 1000, 2), (1, 1, 1000, 2, 3)]


async def test_every_caller_of_a_batch_that_keeps_losing_gives_up_with_its_own_error(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, max_attempts=3, backoff_base=0.0)
    tally_id = await new_tally(repository)

    async def always_beaten(tally: Counter) -> None:
        # Another writer commits between the batch's load and its append.
        await store.append_events(tally.stream_id, [NewEvent("Added", {"amount": 1})])
        tally.add(5)

    held = await Held(repository, tally_id).started()
    batch = asyncio.gather(
        repository.update(tally_id, always_beaten),  # queued: one batch
        repository.update(tally_id, lambda t: t.add(7)),
        return_exceptions=True,
    )
    await asyncio.sleep(0.01)
    await held.release()
    outcomes = await batch
    assert all(isinstance(outcome, UpdateGaveUpError) for outcome in outcomes)
    assert [outcome.attempts for outcome in outcomes] == [3, 3]  # type: ignore[union-attr]
    assert 7 not in (await repository.load(tally_id)).history


async def test_a_batch_across_a_snapshot_boundary_is_snapshotted_at_its_version(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, snapshot_every=4)
    tally_id = await new_tally(repository)  # version 1
    updates = [repository.update(tally_id, lambda t: t.add(1)) for _ in range(6)]
    await behind_a_held_update(repository, tally_id, updates)  # 2, then one batch: 3 to 8
    snapshot = await store.load_snapshot(Counter.stream_id_for(tally_id))
    assert snapshot is not None and snapshot.version == 8
    loaded = await repository.load_with_info(tally_id)
    assert (loaded.snapshot_version, loaded.aggregate.total) == (8, 8)


async def test_a_queued_command_runs_in_its_callers_context(store: EventStore) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)
    request_id: contextvars.ContextVar[int] = contextvars.ContextVar("request_id")
    seen: dict[int, int] = {}

    async def caller(number: int) -> None:
        request_id.set(number)

        async def command(tally: Counter) -> None:
            await asyncio.sleep(0)
            seen[number] = request_id.get()
            tally.add(1)

        await repository.update(tally_id, command)

    await asyncio.gather(*(caller(n) for n in range(4)))
    assert seen == {n: n for n in range(4)}


async def test_an_update_nested_in_a_command_of_the_same_aggregate_does_not_wait_for_itself(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store, max_attempts=2, backoff_base=0.0)
    tally_id = await new_tally(repository)

    async def nested(tally: Counter) -> None:
        await repository.update(tally_id, lambda t: t.add(5))

    held = await Held(repository, tally_id).started()
    queued = asyncio.create_task(repository.update(tally_id, nested))
    await asyncio.sleep(0.01)
    await held.release()
    await asyncio.wait_for(queued, timeout=10)  # no deadlock
    assert (await repository.load(tally_id)).history == (1, 1, 5)


async def test_queue_updates_false_lets_updates_race_and_retry(store: EventStore) -> None:
    repository = Repository(Counter, store, queue_updates=False, backoff_base=0.001)
    tally_id = await new_tally(repository)
    gate = asyncio.Barrier(2)
    runs = 0

    async def meet_then_add(tally: Counter) -> None:
        nonlocal runs
        runs += 1
        if runs <= 2:
            await gate.wait()  # both load the same version
        tally.add(1)

    await asyncio.gather(*(repository.update(tally_id, meet_then_add) for _ in range(2)))
    assert runs == 3


async def test_update_batch_size_must_be_a_positive_int(store: EventStore) -> None:
    for wrong in (0, -1, 1.5, True):
        with pytest.raises(ConfigurationError, match="update_batch_size"):
            Repository(Counter, store, update_batch_size=wrong)  # type: ignore[arg-type]


async def test_cancelling_the_update_the_others_queued_behind_leaves_them_to_run(
    store: EventStore,
) -> None:
    repository = Repository(Counter, store)
    tally_id = await new_tally(repository)
    held = await Held(repository, tally_id).started()
    queued = asyncio.gather(*(repository.update(tally_id, lambda t: t.add(2)) for _ in range(3)))
    await asyncio.sleep(0.01)
    held.task.cancel()
    saved = await asyncio.wait_for(queued, timeout=10)
    assert held.task.cancelled()
    assert [tally.history for tally in saved] == [(1, 2), (1, 2, 2), (1, 2, 2, 2)]


class LosesAReply(CountingAppends):
    """A real store whose second append (a batch's, in the test) commits, then reports
    the connection lost."""

    async def append_events(self, *args: Any, **kwargs: Any) -> Any:
        result = await super().append_events(*args, **kwargs)
        if self.appends == 2:
            raise StoreUnavailableError("the connection closed before the reply")
        return result


async def test_a_batch_whose_reply_is_lost_is_written_once_and_runs_no_command_twice(
    store: EventStore,
) -> None:
    tally_id = await new_tally(Repository(Counter, store))
    losing = LosesAReply(store)
    repository = Repository(Counter, losing, backoff_base=0.0)  # type: ignore[arg-type]
    runs = 0

    def add_two(tally: Counter) -> None:
        nonlocal runs
        runs += 1
        tally.add(2)

    updates = [repository.update(tally_id, add_two) for _ in range(3)]
    saved = await behind_a_held_update(repository, tally_id, updates)
    assert runs == 3
    assert [tally.version for tally in saved] == [3, 4, 5]
    assert (await repository.load(tally_id)).history == (1, 1, 2, 2, 2)


class TakesThreeEventsPerAppend(CountingAppends):
    """A real store declaring that one append takes at most three events."""

    @property
    def capabilities(self) -> Any:
        return types.SimpleNamespace(max_events_per_append=3)


async def test_a_batch_never_carries_more_events_than_the_backend_takes_in_one_append(
    store: EventStore,
) -> None:
    counting = TakesThreeEventsPerAppend(store)
    repository = Repository(Counter, counting)  # type: ignore[arg-type]
    tally_id = await new_tally(repository)
    counting.appends = 0

    def add_twice(tally: Counter) -> None:
        tally.add(2)
        tally.add(2)

    updates = [repository.update(tally_id, add_twice) for _ in range(4)]
    saved = await behind_a_held_update(repository, tally_id, updates)
    assert counting.appends == 1 + 4  # two commands would be four events
    assert [tally.version for tally in saved] == [4, 6, 8, 10]

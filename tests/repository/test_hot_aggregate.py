"""A hot aggregate: many writers updating one stream at once.

One repository queues its writers' updates of an aggregate and saves them
in batches (tests/repository/test_update_queue.py); writers that race (the
queue off, as in separate processes) retry until a deadline (not a small
fixed count), so that every command completes in normal operation however
many writers share the stream, and when one does give up its error says
what it tried.
"""

from __future__ import annotations

import asyncio
import time

import attrs
import pytest

from eventsourcing_kit import Aggregate, ConcurrencyError, EventStore, NewEvent, Repository
from eventsourcing_kit.errors import ConfigurationError, UpdateGaveUpError
from eventsourcing_kit.testing import StoreFactory

WRITERS = 32


@attrs.frozen
class Added:
    amount: int


@attrs.define
class Tally(Aggregate):
    event_types = (Added,)
    total: int = 0

    def add(self, amount: int) -> None:
        self.record(Added(amount))

    def apply(self, event: object) -> None:
        match event:
            case Added(amount=amount):
                self.total += amount


async def run_every_writer(repository: Repository[Tally]) -> float:
    """Seconds `WRITERS` concurrent updates of one new aggregate took; each added 1."""
    tally = Tally()
    tally.add(0)
    await repository.save(tally)
    started = time.monotonic()
    await asyncio.gather(*(repository.update(tally.id, lambda t: t.add(1)) for _ in range(WRITERS)))
    elapsed = time.monotonic() - started
    assert (await repository.load(tally.id)).total == WRITERS
    return elapsed


async def test_thirty_two_writers_on_one_aggregate_all_complete_with_the_defaults(
    store: EventStore,
) -> None:
    elapsed = await run_every_writer(Repository(Tally, store))
    assert elapsed < 10.0  # the default deadline was never reached


async def test_thirty_two_racing_writers_on_one_aggregate_all_complete_with_the_defaults(
    store: EventStore, store_backend: str
) -> None:
    # With the queue off, as writers in 32 processes would: they race and retry.
    if store_backend == "dynamodb":
        pytest.skip(
            "a DynamoDB append returns once the indexer has placed it, so 32 racing commands "
            "taking turns on one stream fill most of the default 10 s budget on DynamoDB "
            "Local: see the test with a longer budget below"
        )
    elapsed = await run_every_writer(Repository(Tally, store, queue_updates=False))
    assert elapsed < 10.0


@pytest.mark.dynamodb
async def test_thirty_two_racing_writers_on_one_dynamodb_aggregate_complete_with_a_longer_budget(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory.open("dynamodb")
    await run_every_writer(Repository(Tally, store, retry_for=60.0, queue_updates=False))


async def test_an_update_that_gives_up_says_how_often_and_how_long_it_tried(
    store: EventStore,
) -> None:
    # Long enough for a second attempt on every backend (one DynamoDB attempt,
    # load and refused append, can take a few tenths of a second under load).
    repository = Repository(Tally, store, retry_for=0.8, backoff_base=0.001)
    tally = Tally()
    tally.add(1)
    await repository.save(tally)

    async def always_beaten(t: Tally) -> None:
        # Another writer commits between this command's load and its save.
        await store.append_events(t.stream_id, [NewEvent("Added", {"amount": 1})])
        t.add(5)

    with pytest.raises(UpdateGaveUpError) as raised:
        await repository.update(tally.id, always_beaten)
    error = raised.value
    assert isinstance(error, ConcurrencyError)
    assert error.attempts > 1
    # The deadline bounds when the last attempt starts, not when it ends.
    assert 0 < error.elapsed < 0.8 + 5.0
    assert f"gave up after {error.attempts} attempts" in str(error)
    assert "retry_for=0.8" in str(error)


def test_a_repository_without_any_retry_bound_is_refused(store: EventStore) -> None:
    with pytest.raises(ConfigurationError, match="retry_for"):
        Repository(Tally, store, retry_for=None, max_attempts=None)

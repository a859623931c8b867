"""Concurrent `Repository.update` calls never lose a command nor apply one twice.

Each drawn plan starts several updates at once on a few aggregates, through
two repositories on one store (two processes: each queues its own updates of
an aggregate and saves them in batches, and the two race), with a drawn
batch size, or with queueing off; every command yields to the event loop a
drawn number of times before and during its run, so that loads and saves
interleave in many orders (and, on PostgreSQL, really race on a connection
pool), and some commands raise after recording their event. Afterwards every
command that returned has its event in its aggregate's stream exactly once,
at gap-free versions, no command that raised has, and each caller got the
aggregate just after its own command.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from uuid import UUID

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from property_support import budget

from eventsourcing_kit import Aggregate, EventStore, Repository
from eventsourcing_kit.testing import StoreFactory


@attrs.frozen
class Opened:
    pass


@attrs.frozen
class Applied:
    command: int


@attrs.define
class Tally(Aggregate):
    event_types = (Opened, Applied)

    applied: tuple[int, ...] = ()

    def open(self) -> None:
        self.record(Opened())

    def apply(self, event: object) -> None:
        match event:
            case Applied(command=command):
                self.applied = (*self.applied, command)
            case Opened():
                pass


@attrs.frozen
class Step:
    """One concurrent update: its target and how often it yields, before and inside."""

    target: int
    yields_before: int
    yields_inside: int
    repository: int
    raises: bool


plans = st.integers(min_value=1, max_value=3).flatmap(
    lambda aggregates: st.tuples(
        st.just(aggregates),
        st.lists(
            st.builds(
                Step,
                target=st.integers(0, aggregates - 1),
                yields_before=st.integers(0, 3),
                yields_inside=st.integers(0, 3),
                repository=st.integers(0, 1),
                raises=st.booleans(),
            ),
            min_size=2,
            max_size=10,
        ),
        # A seed, not st.randoms(): how many pauses the retries draw depends on
        # timing, and Hypothesis needs the same draws when it replays a case.
        st.integers(min_value=0, max_value=2**32 - 1).map(random.Random),
        # The most commands saved in one append; None: no queue, every update races.
        st.sampled_from([None, 1, 2, 3, 32]),
    )
)

OpenStore = Callable[[], Awaitable[EventStore]]


class Refused(Exception):
    """The domain error of a command drawn to raise."""


async def run_plan(
    store: EventStore,
    aggregates: int,
    steps: list[Step],
    rng: random.Random,
    batch_size: int | None,
) -> None:
    repositories = [
        Repository(
            Tally,
            store,
            snapshot_every=2,
            # Every failed attempt means another command was saved, so this many
            # attempts always suffice; the backoff stays short to keep tests fast.
            max_attempts=len(steps) + 1,
            backoff_base=0.0001,
            backoff_max=0.001,
            rng=rng,
            queue_updates=batch_size is not None,
            update_batch_size=batch_size or 1,
        )
        for _ in range(2)
    ]
    repository = repositories[0]
    ids: list[UUID] = []
    for _ in range(aggregates):
        tally = Tally()
        tally.open()
        await repository.save(tally)
        ids.append(tally.id)

    async def update(number: int, step: Step) -> None:
        for _ in range(step.yields_before):
            await asyncio.sleep(0)

        async def command(tally: Tally) -> None:
            tally.record(Applied(number))
            for _ in range(step.yields_inside):
                await asyncio.sleep(0)
            if step.raises:
                raise Refused(number)

        updating = repositories[step.repository].update(ids[step.target], command)
        if step.raises:
            with pytest.raises(Refused):
                await updating
            return
        saved = await updating
        assert saved.applied.count(number) == 1
        assert saved.applied[-1] == number  # the state just after its own command
        assert saved.version == len(saved.applied) + 1

    await asyncio.gather(*(update(number, step) for number, step in enumerate(steps)))

    plain = Repository(Tally, store, snapshot_every=None)
    for target, aggregate_id in enumerate(ids):
        wanted = sorted(
            n for n, step in enumerate(steps) if step.target == target and not step.raises
        )
        for loader in (repository, plain):
            tally = await loader.load(aggregate_id)
            duplicates = [n for n, count in Counter(tally.applied).items() if count > 1]
            assert not duplicates, f"commands {duplicates} were applied more than once"
            assert sorted(tally.applied) == wanted, "a command was lost"
            assert tally.version == len(wanted) + 1
        versions = [r.version async for r in store.read_stream(Tally.stream_id_for(aggregate_id))]
        assert versions == list(range(1, len(wanted) + 2))


def check_no_lost_update(open_store: OpenStore) -> Callable[..., None]:
    @given(plan=plans)
    def property_holds(plan: tuple[int, list[Step], random.Random, int | None]) -> None:
        aggregates, steps, rng, batch_size = plan

        async def scenario() -> None:
            store = await open_store()
            try:
                await run_plan(store, aggregates, steps, rng, batch_size)
            finally:
                await store.close()

        asyncio.run(scenario())

    return property_holds


# Each example opens a fresh store of its own through store_factory (a new
# SQLite file, a new PostgreSQL schema); the factory closes and drops them all
# when the test ends.


def test_concurrent_updates_on_memory_lose_nothing(store_factory: StoreFactory) -> None:
    budget(2.0)(check_no_lost_update(partial(store_factory.open, "memory")))()


def test_concurrent_updates_on_sqlite_lose_nothing(store_factory: StoreFactory) -> None:
    budget(1.0)(check_no_lost_update(partial(store_factory.open, "sqlite")))()


@pytest.mark.postgres
@pytest.mark.usefixtures("postgres_dsn")  # skips (fails under CI) before the first example
def test_concurrent_updates_on_postgres_lose_nothing(store_factory: StoreFactory) -> None:
    open_store = partial(store_factory.open, "postgres", max_size=4)
    budget(0.5)(check_no_lost_update(open_store))()


@pytest.mark.usefixtures("dynamodb_endpoint")  # skips (fails under CI) before the first example
def test_concurrent_updates_on_dynamodb_lose_nothing(store_factory: StoreFactory) -> None:
    budget(0.3)(check_no_lost_update(partial(store_factory.open, "dynamodb")))()

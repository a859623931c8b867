"""The kit loading an aggregate through its public `Repository`.

`Account` records typed attrs events; a `Repository` with
``snapshot_every=SNAPSHOT_EVERY`` saves it (taking its snapshots) and loads
it from the latest snapshot plus the tail, one with ``snapshot_every=None``
loads it from the whole stream. Both on one `PostgresEventStore`
(_pg_kit.store_in: its connections carry the schema as application_name).
"""

from __future__ import annotations

import _pg_load_common as load
import attrs
from _pg_common import Stopwatch, Timing
from _scale_domain import Deposited  # the scale benchmarks' deposit: the same payload

from eventsourcing_kit import Aggregate, PostgresEventStore, Repository


@attrs.frozen
class Opened:
    amount: int
    currency: str
    reference: str


@attrs.define
class Account(Aggregate):
    """A balance opened by one event and raised by the others."""

    event_types = (Opened, Deposited)

    balance: int = 0

    def record_event(self, e: load.AggregateEvent) -> None:
        cls = Opened if e.event_type == "Opened" else Deposited
        self.record(cls(**e.data))

    def apply(self, event: object) -> None:
        match event:
            case Opened(amount=amount):
                self.balance = amount
            case Deposited(amount=amount):
                self.balance += amount
            case _:
                raise TypeError(f"Account cannot apply {event!r}")


class Loader:
    """The kit's aggregate in one store, and its timed loads."""

    def __init__(self, store: PostgresEventStore, schema: str) -> None:
        self.schema = schema
        self.account = Account()
        self._with = Repository(Account, store, snapshot_every=load.SNAPSHOT_EVERY)
        self._without = Repository(Account, store, snapshot_every=None)

    async def append(self, events: list[load.AggregateEvent]) -> None:
        """Save `events` through the snapshotting repository, SAVE_SIZE per save."""
        for save in load.saves(events):
            for e in save:
                self.account.record_event(e)
            await self._with.save(self.account, metadata=save[0].metadata)

    async def measure(self, loads: int, *, snapshots: bool) -> Timing:
        """`loads` calls of `Repository.load`, one after the other."""
        repository = self._with if snapshots else self._without
        loaded = await repository.load_with_info(self.account.id)  # warm, and check
        assert loaded.aggregate.balance == self.account.balance
        assert (loaded.snapshot_version is not None) == snapshots, loaded
        watch = Stopwatch(self.schema)
        for _ in range(loads):
            await repository.load(self.account.id)
        return watch.stop()

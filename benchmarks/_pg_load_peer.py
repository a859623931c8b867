"""pyeventsourcing 9.x loading an aggregate through its application's repository.

_pg_peer's `Account` (its ``Opened`` event is the created event, its
``Deposited`` a command's), saved by an application whose
``snapshotting_intervals`` take a snapshot at every multiple of
SNAPSHOT_EVERY (its own rule: the save that records that version takes
it). Loads go through ``app.repository.get(id)``: from the latest snapshot
plus the events after it in the snapshotting application, from the whole
stream in a plain one on the same schema. Its aggregate cache is off (its
default), so every load reads the database. Its API is synchronous: these
functions run in a thread of their own (asyncio.to_thread).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import _pg_load_common as load
import _pg_peer as peer
from _pg_common import Stopwatch, Timing


class SnapshottingBank(peer.Bank):
    # Its tables are named after the application: share the plain Bank's.
    name = "Bank"
    snapshotting_intervals = {peer.Account: load.SNAPSHOT_EVERY}


class Loader:
    """pyeventsourcing's aggregate in one schema, and its timed loads."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self._with = peer.open_app(schema, pool_size=1, app_class=SnapshottingBank)
        self._without = peer.open_app(schema, pool_size=1)
        self.account: peer.Account | None = None

    def close(self) -> None:
        self._with.close()
        self._without.close()

    def append(self, events: list[load.AggregateEvent]) -> None:
        """Save `events` through the snapshotting application, SAVE_SIZE per save."""
        for save in load.saves(events):
            for e in save:
                d: dict[str, Any] = e.data
                if self.account is None:
                    self.account = peer.Account(d["amount"], d["currency"], d["reference"])
                else:
                    self.account.deposit(d["amount"], d["currency"], d["reference"])
            assert self.account is not None
            self._with.save(self.account)

    def measure(self, loads: int, *, snapshots: bool) -> Timing:
        """`loads` calls of ``app.repository.get``, one after the other."""
        assert self.account is not None
        app = self._with if snapshots else self._without
        account_id: UUID = self.account.id
        loaded = app.repository.get(account_id)  # warm, and check
        assert loaded.balance == self.account.balance
        assert loaded.version == self.account.version
        watch = Stopwatch(self.schema)
        for _ in range(loads):
            app.repository.get(account_id)
        return watch.stop()

"""Consumer groups that balance themselves: partitions move between members on their own.

A group's streams are split into a fixed number of `partitions` (CRC-32 of
the stream id, as `GroupMember`: chosen when the group is created, and the
same in every process), each one a subscription with its own checkpoint and
its own lease (``{group}:{partition}/{partitions}``). A `BalancingMember`
runs in each process: it keeps a membership lease (``{group}:member:{owner}``)
and, every `standby_poll` seconds, counts the members alive from the store's
leases, gives up the partitions it runs beyond its fair share (each stops
after its batch in progress and releases its lease) and takes free ones up
to it. A partition moves with its checkpoint, since the checkpoint belongs to
the partition, not to the member; a member that dies loses its leases when
they expire, and the others take its partitions over. A stream stays in one
partition, and a partition has one active runner at a time, so each stream's
events are handled in version order; fenced checkpoints keep each event's
effects committed once across members and rebalances (transactional mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Any

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConfigurationError, StoreError
from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._leasing import runner_name
from eventsourcing_kit.subscriptions._options import Handler, LeasePolicy
from eventsourcing_kit.subscriptions._status import SubscriptionState
from eventsourcing_kit.subscriptions._subscription import Subscription

__all__ = ["BalancingMember", "join_group"]

logger = get_logger(__name__)

_DELIVERING = (SubscriptionState.CATCHING_UP, SubscriptionState.LIVE)


class BalancingMember:
    """This process's member of the consumer group `group`; see `join_group`."""

    def __init__(
        self,
        store: EventStore,
        group: str,
        handler: Handler,
        *,
        partitions: int,
        lease: LeasePolicy | None = None,
        **options: Any,
    ) -> None:
        if not store.supports_leases:
            raise ConfigurationError(
                "a self-balancing consumer group needs a store that keeps leases "
                "(memory, SQLite, PostgreSQL, DynamoDB); use consumer_group() otherwise"
            )
        if "partition" in options or "lease" in options:
            raise ConfigurationError("partition and lease are the group's to set")
        GroupMember(group, 0, partitions)  # checks the group name and the count
        self._store = store
        self._group = group
        self._handler = handler
        self._partitions = partitions
        self._policy = LeasePolicy() if lease is None else lease
        self._options = options
        self.owner = runner_name()
        self._member_lease = f"{group}:member:{self.owner}"
        self._running: dict[int, Subscription] = {}
        self._stopping = asyncio.Event()
        self._log = logger.bind(group=group, owner=self.owner)

    def _partition(self, number: int) -> GroupMember:
        return GroupMember(self._group, number, self._partitions)

    def delivering(self) -> list[int]:
        """The partitions this member delivers now."""
        return sorted(n for n, sub in self._running.items() if sub.state in _DELIVERING)

    async def run(self) -> None:
        """Take part in the group until `stop()`; raises a partition's failure."""
        self._stopping.clear()
        try:
            while not self._stopping.is_set():
                try:
                    await self._balance()
                except StoreError as error:
                    self._log.warning(
                        "consumer group balancing failed; retrying", error=repr(error)
                    )
                await self._check_failures()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._policy.standby_interval)
        finally:
            await asyncio.gather(*(sub.stop() for sub in self._running.values()))
            self._running.clear()
            try:
                await self._store.release_lease(self._member_lease, owner=self.owner)
            except StoreError as error:
                self._log.warning("membership release failed", error=repr(error))
            self._log.info("consumer group member left")

    async def stop(self) -> None:
        """Leave the group: every partition stops after its batch and is given up."""
        self._stopping.set()

    async def _balance(self) -> None:
        await self._store.acquire_lease(self._member_lease, owner=self.owner, ttl=self._policy.ttl)
        holders = await self._store.lease_holders(f"{self._group}:")
        members = {o for name, o in holders.items() if name.startswith(f"{self._group}:member:")}
        members.add(self.owner)
        fair = math.ceil(self._partitions / len(members))
        # A partition whose lease another member took stays theirs.
        for number, sub in list(self._running.items()):
            if sub.state is SubscriptionState.STANDBY:
                del self._running[number]
                await sub.stop()
        extra = len(self._running) - fair
        if extra > 0:
            given = sorted(self._running)[-extra:]
            self._log.info("consumer group member gives partitions up", partitions=given, fair=fair)
            await asyncio.gather(*(self._running.pop(number).stop() for number in given))
            return
        free = [
            number
            for number in range(self._partitions)
            if number not in self._running
            and self._partition(number).subscription_id not in holders
        ]
        taken = free[: fair - len(self._running)]
        if taken:
            self._log.info(
                "consumer group member takes partitions",
                partitions=taken,
                members=len(members),
                fair=fair,
            )
        for number in taken:
            sub = Subscription(
                self._store,
                self._partition(number).subscription_id,
                self._handler,
                partition=self._partition(number),
                lease=self._policy,
                **self._options,
            )
            self._running[number] = sub
            await sub.start()

    async def _check_failures(self) -> None:
        for number, sub in list(self._running.items()):
            if sub.state is SubscriptionState.FAILED:
                del self._running[number]
                await sub.wait()  # raises the partition's failure


def join_group(
    store: EventStore, group: str, handler: Handler, *, partitions: int, **options: Any
) -> BalancingMember:
    """This process's member of the self-balancing consumer group `group`.

    Run one per process with ``await member.run()`` (until `stop()`);
    members may join and leave at any time. `partitions` is fixed when the
    group is created: every member must pass the same number. `lease` (a
    `LeasePolicy`) bounds how fast a dead member's partitions move;
    `options` are those of `Subscription`.
    """
    return BalancingMember(store, group, handler, partitions=partitions, **options)

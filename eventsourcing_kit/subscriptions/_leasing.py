"""`Leasing`: one active runner per subscription, the others standing by.

A runner delivers only while it holds the subscription's lease in the store
(`EventStore.acquire_lease`), renewing it as it goes; the others retry every
`standby_poll` seconds and take over once the lease expires (the active
runner died or was cut off) or is given up (it stopped). A runner that
cannot renew in time, or finds the lease taken, halts its follower after the
batch in progress and stands by again. Whatever a runner that lost its lease
still commits is fenced (`Delivery`): the checkpoint moved under it, so its
transaction rolls back.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from eventsourcing_kit._logging import Logger
from eventsourcing_kit.errors import StoreError
from eventsourcing_kit.stores import EventStore, LeaseRefused
from eventsourcing_kit.subscriptions._options import LeasePolicy
from eventsourcing_kit.subscriptions._pacing import Pacer
from eventsourcing_kit.subscriptions._tasks import cancel

__all__ = ["Leasing", "runner_name"]


def runner_name() -> str:
    """A lease owner that says which process holds it: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Leasing:
    """Runs a subscription's follower while, and only while, this runner holds its lease."""

    def __init__(
        self,
        store: EventStore,
        name: str,
        policy: LeasePolicy,
        *,
        pacer: Pacer,
        log: Logger,
    ) -> None:
        self._store = store
        self._name = name
        self._policy = policy
        self._pacer = pacer
        self._owner = runner_name()
        self._log = log.bind(owner=self._owner)
        self.held = False

    @property
    def owner(self) -> str:
        """This runner's name in the lease table."""
        return self._owner

    async def run(
        self,
        follow: Callable[[], Coroutine[Any, Any, None]],
        *,
        halt: asyncio.Event,
        on_standby: Callable[[], None],
    ) -> None:
        """Stand by until the lease is ours, `follow()` while it stays ours; until stopped.

        `halt` is set to end `follow()` after its batch when the lease is lost.
        """
        try:
            while await self._take(on_standby):
                halt.clear()
                lost = asyncio.Event()
                renewing = asyncio.create_task(self._renew(lost, halt), name=f"lease {self._name}")
                try:
                    # In this task, not one of its own: a handler that calls
                    # stop() or reset() must find itself in the runner's task.
                    await follow()
                finally:
                    await cancel(renewing)
                if not lost.is_set():
                    return  # the follower ended: a stop
                # Lost: the batch in progress ended (fencing kept a late
                # commit from counting twice); stand by again.
        finally:
            await self._release()

    async def _take(self, on_standby: Callable[[], None]) -> bool:
        standing_by = False
        failures = 0
        while not self._pacer.stopping.is_set():
            try:
                outcome = await self._store.acquire_lease(
                    self._name, owner=self._owner, ttl=self._policy.ttl
                )
            except StoreError as error:
                failures += 1
                if await self._pacer.back_off(error, failures):
                    return False
                continue
            failures = 0
            if not isinstance(outcome, LeaseRefused):
                self.held = True
                self._log.info("subscription took its lease; delivering", ttl=self._policy.ttl)
                return True
            if not standing_by:
                standing_by = True
                on_standby()
                self._log.info(
                    "subscription standing by; another runner holds its lease",
                    holder=outcome.holder,
                    takeover_bound_s=self._policy.takeover_bound,
                )
            if await self._pacer.pause(self._policy.standby_interval):
                return False
        return False

    async def _renew(self, lost: asyncio.Event, halt: asyncio.Event) -> None:
        # Held until at least the time of the last grant's request + ttl (the
        # server counts from when it ran the statement, later still).
        valid_until = time.monotonic() + self._policy.ttl
        while True:
            await asyncio.sleep(self._policy.renewal_interval)
            asked = time.monotonic()
            try:
                # Bounded by what is left of the lease: a renewal stuck past
                # it (a dead connection, a server that stopped answering)
                # must not leave this runner delivering without one.
                outcome = await asyncio.wait_for(
                    self._store.acquire_lease(self._name, owner=self._owner, ttl=self._policy.ttl),
                    max(0.0, valid_until - asked),
                )
            except (StoreError, TimeoutError) as error:
                if time.monotonic() < valid_until:
                    self._log.warning("lease renewal failed; retrying", error=repr(error))
                    continue
                self._log.warning("lease expired while renewals failed", error=repr(error))
            else:
                if not isinstance(outcome, LeaseRefused):
                    valid_until = asked + self._policy.ttl
                    continue
                self._log.warning("subscription lost its lease", holder=outcome.holder)
            self.held = False
            lost.set()
            halt.set()
            self._pacer.wakeup.set()  # out of a wait for new events
            return

    async def _release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            await self._store.release_lease(self._name, owner=self._owner)
        except StoreError as error:
            # It expires by itself: a standby takes over within the ttl.
            self._log.warning("lease release failed", error=repr(error))

"""`SubscriptionRunner`: run several subscriptions, stop them all gracefully."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable
from types import TracebackType
from typing import Self

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import SubscriptionError
from eventsourcing_kit.subscriptions._status import SubscriptionStatus
from eventsourcing_kit.subscriptions._subscription import Subscription

__all__ = ["SubscriptionRunner"]

logger = get_logger(__name__)


class SubscriptionRunner:
    """The subscriptions of one application, started and stopped together.

    ``await runner.run()`` runs them until `stop()` (or a signal, with
    `stop_on_signals()`); when one fails, the others are stopped gracefully
    and `run()` raises that failure. ``async with runner:`` runs them in the
    background and stops them all on exit.
    """

    def __init__(self, subscriptions: Iterable[Subscription] = ()) -> None:
        self._subscriptions: dict[str, Subscription] = {}
        self._started = False
        for subscription in subscriptions:
            self.add(subscription)
        self._watcher: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        # The loop keeps only weak references to tasks: this one must live
        # until the stop it runs is done.
        self._signal_stop: asyncio.Task[None] | None = None

    def add(self, subscription: Subscription) -> None:
        """Run `subscription` too (before the runner starts)."""
        if not isinstance(subscription, Subscription):
            raise SubscriptionError(f"a runner runs Subscription objects, got {subscription!r}")
        if self._started:
            raise SubscriptionError("add subscriptions before the runner starts")
        if subscription.subscription_id in self._subscriptions:
            raise SubscriptionError(
                f"two subscriptions share the id {subscription.subscription_id!r}: they would "
                "overwrite each other's checkpoint"
            )
        self._subscriptions[subscription.subscription_id] = subscription

    @property
    def subscriptions(self) -> tuple[Subscription, ...]:
        """The subscriptions it runs."""
        return tuple(self._subscriptions.values())

    async def start(self) -> None:
        """Start every subscription in the background.

        If one cannot start, those already started are stopped and the error
        is raised: nothing is left running without the runner watching it.
        """
        if self._started:
            raise SubscriptionError("the runner is already running")
        self._started = True
        self._failure = None
        started: list[Subscription] = []
        try:
            for subscription in self._subscriptions.values():
                await subscription.start()
                started.append(subscription)
        except BaseException:
            await asyncio.gather(*(subscription.stop() for subscription in started))
            self._started = False
            raise
        self._watcher = asyncio.create_task(self._watch(), name="subscription runner")
        logger.info("subscription runner started", subscriptions=list(self._subscriptions))

    async def run(self) -> None:
        """Start them, and return once all have stopped; raise the first failure."""
        await self.start()
        await self.wait()

    async def wait(self) -> None:
        """Wait until every subscription has stopped; raise the first failure."""
        if self._watcher is not None:
            await asyncio.wait({self._watcher})
        if self._failure is not None:
            raise self._failure

    async def stop(self, *, timeout: float | None = None) -> None:
        """Stop every subscription after its current batch, checkpoints stored."""
        await asyncio.gather(
            *(subscription.stop(timeout=timeout) for subscription in self._subscriptions.values())
        )
        if self._watcher is not None:
            await asyncio.wait({self._watcher})
        self._started = False

    def stop_on_signals(self, signals: Iterable[int] = (signal.SIGINT, signal.SIGTERM)) -> None:
        """Stop gracefully on these signals (Unix; call it from the running loop)."""
        loop = asyncio.get_running_loop()
        for number in signals:
            loop.add_signal_handler(number, self._on_signal, number)

    def _on_signal(self, number: int) -> None:
        logger.info("subscription runner stopping on signal", signal=signal.Signals(number).name)
        if self._signal_stop is None or self._signal_stop.done():
            self._signal_stop = asyncio.get_running_loop().create_task(self.stop())

    async def status(self, *, lag_limit: int = 10_000) -> list[SubscriptionStatus]:
        """The status of each subscription, in the order they were added."""
        return [
            await subscription.status(lag_limit=lag_limit)
            for subscription in self._subscriptions.values()
        ]

    async def _watch(self) -> None:
        waiters = {
            asyncio.create_task(subscription.wait()): subscription
            for subscription in self._subscriptions.values()
        }
        pending = set(waiters)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                error = task.exception()
                if error is not None and self._failure is None:
                    self._failure = error
                    logger.error(
                        "subscription runner stopping all: one subscription failed",
                        subscription_id=waiters[task].subscription_id,
                        error=repr(error),
                    )
                    await asyncio.gather(
                        *(
                            other.stop()
                            for other in self._subscriptions.values()
                            if other is not waiters[task]
                        )
                    )
        self._started = False
        logger.info("subscription runner stopped")

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self._failure is not None:
            raise self._failure

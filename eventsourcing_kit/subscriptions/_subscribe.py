"""`subscribe`: the one call that makes a `Subscription`, its options typed and spelt out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._options import (
    Handler,
    LeasePolicy,
    OnError,
    RetryPolicy,
    Start,
)
from eventsourcing_kit.subscriptions._settings import DEFAULT_SUBSCRIPTION_BATCH_SIZE
from eventsourcing_kit.subscriptions._subscription import Subscription

__all__ = ["subscribe"]


def subscribe(
    store: EventStore,
    subscription_id: str,
    handler: Handler,
    *,
    start: Start = "beginning",
    category: str | None = None,
    event_types: Iterable[str] | None = None,
    batch_size: int = DEFAULT_SUBSCRIPTION_BATCH_SIZE,
    batched: bool = False,
    transactional: bool = False,
    on_error: OnError = "stop",
    retry: RetryPolicy | None = None,
    poll_interval: float = 1.0,
    partition: GroupMember | None = None,
    on_reset: Callable[[], Awaitable[None]] | None = None,
    lease: LeasePolicy | bool | None = None,
    checkpoint_interval: float | None = None,
    max_page_size: int | None = None,
) -> Subscription:
    """A subscription named `subscription_id` that feeds `handler` from `store`'s global order.

    It resumes from its stored checkpoint; see `Subscription` for the
    options (the same, keyword-only and typed: a type checker catches a
    misspelt one). `handler` takes a `RecordedEvent` (a list of them with
    ``batched=True``), plus a `HandlerContext` with ``transactional=True``.
    Start it with ``await subscription.start()`` or ``async with``.
    """
    return Subscription(
        store,
        subscription_id,
        handler,
        start=start,
        category=category,
        event_types=event_types,
        batch_size=batch_size,
        batched=batched,
        transactional=transactional,
        on_error=on_error,
        retry=retry,
        poll_interval=poll_interval,
        partition=partition,
        on_reset=on_reset,
        lease=lease,
        checkpoint_interval=checkpoint_interval,
        max_page_size=max_page_size,
    )

"""A subscription's options, checked once when it is created."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable

import attrs

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores import (
    EventStore,
    validate_batch_size,
    validate_category,
    validate_event_types,
    validate_subscription_id,
)
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._options import (
    Handler,
    LeasePolicy,
    OnError,
    RetryPolicy,
    Start,
)
from eventsourcing_kit.subscriptions._parking import parked_stream_id

__all__ = [
    "DEFAULT_CHECKPOINT_INTERVAL",
    "DEFAULT_MAX_PAGE_SIZE",
    "DEFAULT_SUBSCRIPTION_BATCH_SIZE",
    "Settings",
    "check_settings",
]

DEFAULT_SUBSCRIPTION_BATCH_SIZE = 100
DEFAULT_CHECKPOINT_INTERVAL = 1.0
"""Seconds between two checkpoints of a subscription that is not transactional
while it catches up (see `Subscription`)."""
DEFAULT_MAX_PAGE_SIZE = 1000
"""The largest page a subscription reads while far behind, unless its
`batch_size` is larger: larger pages saved little more per event in reads
from PostgreSQL, and the memory a subscription holds grows with them."""


@attrs.frozen(kw_only=True)
class Settings:
    """Everything `Subscription` was given, checked (see its docstring)."""

    subscription_id: str
    start: Start
    category: str | None
    event_types: tuple[str, ...] | None
    batch_size: int
    max_page_size: int
    checkpoint_interval: float
    batched: bool
    transactional: bool
    on_error: OnError
    retry: RetryPolicy
    poll_interval: float
    partition: GroupMember | None
    on_reset: Callable[[], Awaitable[None]] | None
    lease: LeasePolicy | None


def check_settings(
    store: object,
    subscription_id: object,
    handler: Handler,
    *,
    start: Start,
    category: str | None,
    event_types: Iterable[str] | None,
    batch_size: int,
    batched: bool,
    transactional: bool,
    on_error: OnError,
    retry: RetryPolicy | None,
    poll_interval: float,
    partition: GroupMember | None,
    on_reset: Callable[[], Awaitable[None]] | None,
    lease: LeasePolicy | bool | None = None,
    checkpoint_interval: float | None = None,
    max_page_size: int | None = None,
) -> Settings:
    """`Settings` from a subscription's arguments, or `ConfigurationError`."""
    if not isinstance(store, EventStore):
        raise ConfigurationError(f"a subscription needs an EventStore, got {store!r}")
    checked_id = validate_subscription_id(subscription_id)
    if not _is_async_callable(handler):
        # Caught here, not at the first event: a sync handler would run
        # once, side effects and all, before the subscription failed.
        raise ConfigurationError(
            f"handler must be an async callable (an `async def` function, or an object "
            f"whose __call__ is `async def`), got {handler!r}"
        )
    if start not in ("beginning", "now"):
        raise ConfigurationError(f"start must be 'beginning' or 'now', got {start!r}")
    if on_error not in ("stop", "park"):
        raise ConfigurationError(f"on_error must be 'stop' or 'park', got {on_error!r}")
    if on_error == "park":
        parked_stream_id(checked_id)
    if retry is None:
        retry = RetryPolicy()
    elif not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {retry!r}")
    if (
        isinstance(poll_interval, bool)
        or not isinstance(poll_interval, int | float)
        or poll_interval <= 0
    ):
        raise ConfigurationError(f"poll_interval must be seconds > 0, got {poll_interval!r}")
    batch_size = validate_batch_size(batch_size)
    if partition is not None and not isinstance(partition, GroupMember):
        raise ConfigurationError(f"partition must be a GroupMember, got {partition!r}")
    return Settings(
        lease=_lease_policy(store, lease),
        subscription_id=checked_id,
        start=start,
        category=None if category is None else validate_category(category),
        event_types=validate_event_types(event_types),
        batch_size=batch_size,
        max_page_size=_max_page_size(max_page_size, batch_size),
        checkpoint_interval=_checkpoint_interval(checkpoint_interval, bool(transactional)),
        batched=bool(batched),
        transactional=bool(transactional),
        on_error=on_error,
        retry=retry,
        poll_interval=float(poll_interval),
        partition=partition,
        on_reset=on_reset,
    )


def _max_page_size(max_page_size: object, batch_size: int) -> int:
    if max_page_size is None:
        return max(DEFAULT_MAX_PAGE_SIZE, batch_size)
    if (
        isinstance(max_page_size, bool)
        or not isinstance(max_page_size, int)
        or max_page_size < batch_size
    ):
        raise ConfigurationError(
            f"max_page_size must be an int >= batch_size ({batch_size}), got {max_page_size!r}"
        )
    return max_page_size


def _checkpoint_interval(interval: object, transactional: bool) -> float:
    if interval is None:
        return 0.0 if transactional else DEFAULT_CHECKPOINT_INTERVAL
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval < 0:
        raise ConfigurationError(f"checkpoint_interval must be seconds >= 0, got {interval!r}")
    if transactional and interval:
        raise ConfigurationError(
            "checkpoint_interval does not apply to a transactional subscription: its "
            "checkpoint commits with each batch's read-model writes; leave it out"
        )
    return float(interval)


def _lease_policy(store: EventStore, lease: object) -> LeasePolicy | None:
    # None (the default): a lease where the store keeps them; False: none.
    if lease is None or lease is True:
        if not store.supports_leases:
            if lease is True:
                raise ConfigurationError(
                    "lease=True, but this store keeps no leases: pass lease=False, or use a "
                    "backend that keeps them (memory, SQLite, PostgreSQL, DynamoDB)"
                )
            return None
        return LeasePolicy()
    if lease is False:
        return None
    if isinstance(lease, LeasePolicy):
        if not store.supports_leases:
            raise ConfigurationError("this store keeps no leases: pass lease=False")
        return lease
    raise ConfigurationError(f"lease must be a LeasePolicy, True, False or None, got {lease!r}")


def _is_async_callable(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004 - the method itself is inspected
    return callable(handler) and inspect.iscoroutinefunction(call)

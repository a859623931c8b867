"""The values that configure a subscription: retry policy, handler context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypeAlias, TypedDict

import attrs

from eventsourcing_kit.errors import ConfigurationError

__all__ = [
    "Handler",
    "HandlerContext",
    "LeasePolicy",
    "OnError",
    "RetryPolicy",
    "Start",
    "SubscriptionOptions",
]

Start: TypeAlias = Literal["beginning", "now"]
"""Where a subscription without a checkpoint starts: the first event, or the head."""

OnError: TypeAlias = Literal["stop", "park"]
"""What a subscription does once a failing event has used up its retries."""

Handler: TypeAlias = Callable[..., Awaitable[None]]
"""An async callable taking an event (or a batch), plus a `HandlerContext` when
the subscription is transactional."""


def _non_negative(name: str) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigurationError(f"RetryPolicy.{name} must be a number >= 0, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often, and how patiently, a failing handler is tried again.

    A failed event is retried `max_retries` times (so tried ``max_retries + 1``
    times in all), waiting ``initial_delay * multiplier ** (n - 1)`` seconds
    before the n-th retry, never more than `max_delay`.
    """

    max_retries: int = attrs.field(default=3, validator=_non_negative("max_retries"))
    initial_delay: float = attrs.field(default=0.1, validator=_non_negative("initial_delay"))
    max_delay: float = attrs.field(default=5.0, validator=_non_negative("max_delay"))
    multiplier: float = attrs.field(default=2.0, validator=_non_negative("multiplier"))

    def __attrs_post_init__(self) -> None:
        if not isinstance(self.max_retries, int):
            raise ConfigurationError(
                f"RetryPolicy.max_retries must be an int, got {self.max_retries!r}"
            )

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        return float(min(self.max_delay, self.initial_delay * self.multiplier ** (retry - 1)))


def _positive(name: str) -> Callable[[Any, Any, Any], None]:
    def check(instance: Any, attribute: Any, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise ConfigurationError(f"LeasePolicy.{name} must be seconds > 0, got {value!r}")

    return check


@attrs.frozen(kw_only=True)
class LeasePolicy:
    """How the runners of one subscription agree on the one that delivers.

    The active runner holds a lease of `ttl` seconds in the store and renews
    it every `renew_every` seconds (default: a third of `ttl`). Other
    runners stand by and try to take it every `standby_poll` seconds
    (default: a sixth of `ttl`). When the active runner dies, a standby takes
    over within ``ttl + standby_poll`` seconds of its last renewal; when it
    stops, it gives the lease up and a standby takes over within
    `standby_poll`. A runner that loses its lease (a pause longer than `ttl`)
    stops after its batch in progress, which fenced checkpoints keep from
    committing twice.
    """

    ttl: float = attrs.field(default=3.0, validator=_positive("ttl"))
    renew_every: float | None = attrs.field(default=None, validator=_positive("renew_every"))
    standby_poll: float | None = attrs.field(default=None, validator=_positive("standby_poll"))

    def __attrs_post_init__(self) -> None:
        if self.renew_every is not None and self.renew_every >= self.ttl:
            raise ConfigurationError(
                f"LeasePolicy.renew_every ({self.renew_every}) must be shorter than its ttl "
                f"({self.ttl}), or the lease expires between renewals"
            )

    @property
    def renewal_interval(self) -> float:
        """Seconds between two renewals of a held lease."""
        return self.ttl / 3 if self.renew_every is None else self.renew_every

    @property
    def standby_interval(self) -> float:
        """Seconds between two tries of a standby to take the lease."""
        return self.ttl / 6 if self.standby_poll is None else self.standby_poll

    @property
    def takeover_bound(self) -> float:
        """The most seconds from the active runner's last renewal to a standby's takeover."""
        return self.ttl + self.standby_interval


@attrs.frozen(kw_only=True)
class HandlerContext:
    """What a transactional handler receives beside its event (or batch).

    `connection` is the backend's connection inside the transaction that also
    stores the subscription's checkpoint (an ``asyncpg.Connection`` on
    PostgreSQL, the SQLite connection on SQLite, a ``ReadModelWrites`` collector on
    DynamoDB, None in memory): write the read model through it and the write
    commits or rolls back with the checkpoint.
    """

    subscription_id: str
    connection: Any


class SubscriptionOptions(TypedDict, total=False):
    """The keyword options a consumer group passes on to each member's `Subscription`.

    Typed, so that a type checker catches a misspelt one; see `Subscription`
    for what each means (a member's `partition` is its own).
    """

    start: Start
    category: str | None
    event_types: Iterable[str] | None
    batch_size: int
    batched: bool
    transactional: bool
    on_error: OnError
    retry: RetryPolicy | None
    poll_interval: float
    on_reset: Callable[[], Awaitable[None]] | None
    lease: LeasePolicy | bool | None
    checkpoint_interval: float | None
    max_page_size: int | None

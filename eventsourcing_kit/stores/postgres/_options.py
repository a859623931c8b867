"""The PostgreSQL store's options: their defaults, checked once.

`open` and `from_pool` check what they are given here, before any
connection is made, and hand the driver a `PostgresOptions` it can trust.
"""

from __future__ import annotations

import math
from typing import Literal

import attrs

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.postgres._connect import DEFAULT_CONNECT_TIMEOUT
from eventsourcing_kit.stores.postgres._migrations import DEFAULT_SCHEMA, validate_schema_name
from eventsourcing_kit.stores.postgres._notify import NotifyMode

__all__ = [
    "DEFAULT_NOTIFY_DELAY",
    "DEFAULT_VISIBILITY_WAIT",
    "NotifyOption",
    "PoolOptions",
    "PostgresOptions",
]

DEFAULT_VISIBILITY_WAIT = 2.0
DEFAULT_NOTIFY_DELAY = 0.002

NotifyOption = Literal["coalesced", "after_commit", "in_transaction", "off"]


@attrs.frozen(kw_only=True)
class PostgresOptions:
    """Where a store keeps its tables, and how it appends, notifies and waits.

    See `PostgresEventStore.open` for what each option means.
    """

    schema: str = DEFAULT_SCHEMA
    notify: NotifyMode = NotifyMode.COALESCED
    visibility_wait: float = DEFAULT_VISIBILITY_WAIT
    notify_delay: float = DEFAULT_NOTIFY_DELAY
    group_commit: bool = True

    @classmethod
    def check(
        cls,
        *,
        schema: object,
        notify: object,
        visibility_wait: object,
        notify_delay: object,
        group_commit: object,
    ) -> PostgresOptions:
        """The options, or `ConfigurationError` naming the one that is wrong."""
        try:
            mode = NotifyMode(notify)
        except ValueError:
            choices = ", ".join(repr(mode.value) for mode in NotifyMode)
            raise ConfigurationError(
                f"notify={notify!r}: give one of {choices} (default 'coalesced')"
            ) from None
        return cls(
            schema=validate_schema_name(schema),
            notify=mode,
            visibility_wait=_seconds(visibility_wait),
            notify_delay=_delay(notify_delay),
            group_commit=_flag(group_commit),
        )


@attrs.frozen(kw_only=True)
class PoolOptions:
    """The pool a store opens for itself (`PostgresEventStore.open`)."""

    min_size: int = 1
    max_size: int = 10
    statement_timeout: float | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT

    @classmethod
    def check(
        cls,
        *,
        min_size: object,
        max_size: object,
        statement_timeout: object,
        connect_timeout: object,
    ) -> PoolOptions:
        """The options, or `ConfigurationError` naming the one that is wrong.

        Checked here rather than left to asyncpg, whose ValueError would
        reach the caller as an error of another library.
        """
        if isinstance(min_size, bool) or not isinstance(min_size, int) or min_size < 0:
            raise ConfigurationError(
                f"min_size={min_size!r}: give the connections to open at once, 0 or more "
                "(default 1)"
            )
        if (
            isinstance(max_size, bool)
            or not isinstance(max_size, int)
            or max_size < max(1, min_size)
        ):
            raise ConfigurationError(
                f"max_size={max_size!r}: give the most connections the pool may open, at "
                f"least 1 and at least min_size={min_size} (default 10)"
            )
        timeout = None if statement_timeout is None else _positive(statement_timeout)
        if statement_timeout is not None and timeout is None:
            raise ConfigurationError(
                f"statement_timeout={statement_timeout!r}: give the seconds a statement may "
                "run, more than 0, or None for the server's setting (default None)"
            )
        connect = _positive(connect_timeout)
        if connect is None:
            raise ConfigurationError(
                f"connect_timeout={connect_timeout!r}: give the seconds to wait for a "
                f"connection, more than 0 (default {DEFAULT_CONNECT_TIMEOUT})"
            )
        return cls(
            min_size=min_size,
            max_size=max_size,
            statement_timeout=timeout,
            connect_timeout=connect,
        )


def _positive(seconds: object) -> float | None:
    # `seconds` as a float when it is a finite number above 0, else None.
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not math.isfinite(seconds)
        or seconds <= 0
    ):
        return None
    return float(seconds)


def _flag(group_commit: object) -> bool:
    if not isinstance(group_commit, bool):
        raise ConfigurationError(
            f"group_commit={group_commit!r}: give True or False (default True)"
        )
    return group_commit


def _delay(delay: object) -> float:
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)
        or not 0 <= delay <= 1
    ):
        raise ConfigurationError(
            f"notify_delay={delay!r}: give the seconds to gather appends into one NOTIFY, "
            f"from 0 to 1 (default {DEFAULT_NOTIFY_DELAY})"
        )
    return float(delay)


def _seconds(wait: object) -> float:
    if isinstance(wait, bool) or not isinstance(wait, int | float) or math.isnan(wait):
        raise ConfigurationError(
            f"visibility_wait={wait!r}: give the seconds a reader at the end of the log may "
            f"wait for older transactions (default {DEFAULT_VISIBILITY_WAIT}; 0 never waits)"
        )
    return float(wait)

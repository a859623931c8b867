"""The PostgreSQL store's options, checked once for `open` and `from_pool`."""

from __future__ import annotations

import math
from typing import Literal

import attrs

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.postgres._notify import NotifyMode

__all__ = [
    "DEFAULT_NOTIFY_DELAY",
    "DEFAULT_VISIBILITY_WAIT",
    "NotifyOption",
    "PostgresOptions",
]

DEFAULT_VISIBILITY_WAIT = 2.0
DEFAULT_NOTIFY_DELAY = 0.002

NotifyOption = Literal["coalesced", "after_commit", "in_transaction", "off"]


@attrs.frozen(kw_only=True)
class PostgresOptions:
    """How a store appends, notifies and waits (see `PostgresEventStore.open`)."""

    notify: NotifyMode = NotifyMode.COALESCED
    visibility_wait: float = DEFAULT_VISIBILITY_WAIT
    notify_delay: float = DEFAULT_NOTIFY_DELAY
    group_commit: bool = True

    @classmethod
    def check(
        cls,
        *,
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
            notify=mode,
            visibility_wait=_seconds(visibility_wait),
            notify_delay=_delay(notify_delay),
            group_commit=_flag(group_commit),
        )


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

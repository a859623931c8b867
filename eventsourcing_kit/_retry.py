"""`RetryBounds`: how long `Repository.update` keeps retrying after concurrent writes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import (
    ConcurrencyError,
    ConfigurationError,
    StoreUnavailableError,
    TransientStoreError,
    UpdateGaveUpError,
)

__all__ = ["RetryBounds", "check_retry_options", "through_store_errors"]

R = TypeVar("R")

# The repository's own logger name: an application filters its lines by one name.
logger = get_logger("eventsourcing_kit.repository")


@attrs.frozen(kw_only=True)
class RetryBounds:
    """The bounds and the jittered backoff of `update`'s retries (see `Repository`)."""

    max_attempts: int | None
    retry_for: float | None
    backoff_base: float
    backoff_max: float
    rng: random.Random

    def pause(self, attempt: int) -> float:
        """Full jitter: a random pause up to ``min(backoff_max, backoff_base * 2 ** attempt)``."""
        return self.rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))

    def out_of_budget(self, attempts: int, elapsed_after_pause: float) -> bool:
        """Whether a command that ran `attempts` times may not run again."""
        # The deadline counts the pause before the next attempt: sleeping
        # past it only to give up later would waste the caller's time.
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return self.retry_for is not None and elapsed_after_pause >= self.retry_for

    def gave_up(
        self, conflict: ConcurrencyError, attempts: int, started: float
    ) -> UpdateGaveUpError:
        """The error for an update that ran `attempts` times since `started` (monotonic)."""
        elapsed = time.monotonic() - started
        logger.warning(
            "update gave up after concurrent writes",
            stream_id=conflict.stream_id,
            attempts=attempts,
            elapsed_s=round(elapsed, 3),
            retry_for=self.retry_for,
            max_attempts=self.max_attempts,
        )
        return UpdateGaveUpError(
            conflict.stream_id,
            expected=conflict.expected,
            actual=conflict.actual,
            attempts=attempts,
            elapsed=elapsed,
            retry_for=self.retry_for,
            max_attempts=self.max_attempts,
        )


def check_retry_options(*, max_attempts: object, retry_for: object) -> None:
    """Refuse retry bounds that are not numbers of the right kind, or no bound at all."""
    if max_attempts is not None and (
        isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
    ):
        raise ConfigurationError(f"max_attempts must be an int >= 1 or None, got {max_attempts!r}")
    if retry_for is not None and (
        isinstance(retry_for, bool) or not isinstance(retry_for, int | float) or retry_for <= 0
    ):
        raise ConfigurationError(f"retry_for must be seconds > 0 or None, got {retry_for!r}")
    if max_attempts is None and retry_for is None:
        raise ConfigurationError(
            "update needs a bound: give retry_for (seconds) or max_attempts, or both"
        )


async def through_store_errors(
    bounds: RetryBounds, attempts: int, stream_id: str, append: Callable[[], Awaitable[R]]
) -> R:
    """`append()`, again up to `attempts` times in all after a store error that may pass."""
    # A store error may hide an append that committed before its reply was
    # lost. Sending the same events again sends the same event ids, which
    # the store recognises as that append: it is written once either way.
    attempt = 0
    while True:
        attempt += 1
        try:
            return await append()
        except (TransientStoreError, StoreUnavailableError) as error:
            if attempt >= attempts:
                raise
            pause = bounds.pause(attempt)
            logger.info(
                "store error; saving again with the same event ids",
                stream_id=stream_id,
                attempt=attempt,
                error=repr(error),
                pause_ms=round(pause * 1000, 3),
            )
            await asyncio.sleep(pause)

"""`Repository`: load aggregates from snapshot + tail, save with optimistic concurrency."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic
from uuid import UUID

import cattrs

from eventsourcing_kit._loaded import A, Loaded
from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.domain import Aggregate, EventRegistry
from eventsourcing_kit.errors import (
    AggregateNotFound,
    ConcurrencyError,
    ConfigurationError,
    InvalidInputError,
    StoreUnavailableError,
    TransientStoreError,
    UpdateGaveUpError,
)
from eventsourcing_kit.serialization import EventCodec, StateCodec, make_converter
from eventsourcing_kit.stores import (
    DEFAULT_BATCH_SIZE,
    AppendResult,
    EventStore,
    NewEvent,
    Snapshot,
)

__all__ = ["Loaded", "Repository"]

logger = get_logger(__name__)

DEFAULT_RETRY_FOR = 10.0
"""Seconds `update` keeps retrying after concurrent writes, by default.

A deadline rather than a count: how many attempts a writer needs grows with
the number of writers sharing the stream, while how long a caller can wait
does not (benchmarks/hot_aggregate.py measures a hot aggregate).
"""

_STORE_ERROR_ATTEMPTS = 5
"""Saves of the same events after store errors, when `max_attempts` is None."""


class Repository(Generic[A]):
    """Loads and saves the aggregates of one type through an event store.

    - `snapshot_every`: take a snapshot each time the stream's version crosses
      a multiple of it (None or 0: never). Loading starts from the latest
      snapshot whose state shape matches the class, and replays the events
      after it.
    - `retry_for`, `max_attempts`, `backoff_base`, `backoff_max`: how `update`
      retries after a `ConcurrencyError`: until `retry_for` seconds have
      passed (None: no deadline) or `max_attempts` runs of the command (None,
      the default: no count), with full jitter (a random pause up to
      ``min(backoff_max, backoff_base * 2 ** attempt)`` seconds).
    - `converter`: the cattrs converter for events and state (default:
      `make_converter()`); register hooks for your own field types on it.
    """

    def __init__(
        self,
        aggregate_type: type[A],
        store: EventStore,
        *,
        snapshot_every: int | None = 100,
        max_attempts: int | None = None,
        retry_for: float | None = DEFAULT_RETRY_FOR,
        backoff_base: float = 0.005,
        backoff_max: float = 0.1,
        converter: cattrs.Converter | None = None,
        rng: random.Random | None = None,
    ) -> None:
        if not (isinstance(aggregate_type, type) and issubclass(aggregate_type, Aggregate)):
            raise ConfigurationError(
                f"Repository needs an Aggregate subclass, got {aggregate_type!r}"
            )
        if snapshot_every is not None and (
            isinstance(snapshot_every, bool)
            or not isinstance(snapshot_every, int)
            or snapshot_every < 0
        ):
            raise ConfigurationError(
                f"snapshot_every must be a positive int, 0 or None, got {snapshot_every!r}"
            )
        if max_attempts is not None and (
            isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1
        ):
            raise ConfigurationError(
                f"max_attempts must be an int >= 1 or None, got {max_attempts!r}"
            )
        if retry_for is not None and (
            isinstance(retry_for, bool) or not isinstance(retry_for, int | float) or retry_for <= 0
        ):
            raise ConfigurationError(f"retry_for must be seconds > 0 or None, got {retry_for!r}")
        if max_attempts is None and retry_for is None:
            raise ConfigurationError(
                "update needs a bound: give retry_for (seconds) or max_attempts, or both"
            )
        if not aggregate_type.event_types:
            raise ConfigurationError(
                f"{aggregate_type.__qualname__}.event_types is empty: list the event classes "
                "the aggregate records"
            )
        self.aggregate_type = aggregate_type
        self.store = store
        self.snapshot_every = snapshot_every or None
        self.max_attempts = max_attempts
        self.retry_for = retry_for
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        converter = make_converter() if converter is None else converter
        self.events = EventCodec(EventRegistry(aggregate_type.event_types), converter=converter)
        self.state = StateCodec(aggregate_type, converter)
        self._rng = random.Random() if rng is None else rng

    async def load(self, aggregate_id: UUID, *, version: int | None = None) -> A:
        """The aggregate's current state, or its state at `version`.

        `AggregateNotFound` if the stream has no events, or fewer than
        `version`. An aggregate loaded at a past version is for reading:
        saving events recorded on it raises `ConcurrencyError`.
        """
        return (await self.load_with_info(aggregate_id, version=version)).aggregate

    async def load_with_info(self, aggregate_id: UUID, *, version: int | None = None) -> Loaded[A]:
        """Like `load`, and tells whether a snapshot was used and how many events were replayed."""
        if version is not None:
            version = _check_version(version)
        stream_id = self.aggregate_type.stream_id_for(aggregate_id)
        started = time.perf_counter()
        aggregate = await self._from_snapshot(stream_id, aggregate_id, version)
        snapshot_version = None if aggregate is None else aggregate.version
        if aggregate is None:
            aggregate = self.aggregate_type(id=aggregate_id)
        replayed = 0
        batch_size = DEFAULT_BATCH_SIZE
        if version is not None:
            # Read no further than the version asked for (at least one event).
            batch_size = max(1, min(batch_size, version - aggregate.version))
        if version is None or aggregate.version < version:
            async for record in self.store.read_stream(
                stream_id, from_version=aggregate.version + 1, batch_size=batch_size
            ):
                aggregate.apply(self.events.decode(record))
                aggregate.version = record.version
                replayed += 1
                if record.version == version:
                    break
        if aggregate.version == 0:
            raise AggregateNotFound(stream_id)
        if version is not None and aggregate.version < version:
            raise AggregateNotFound(stream_id, version=version, actual=aggregate.version)
        logger.debug(
            "loaded",
            stream_id=stream_id,
            version=aggregate.version,
            from_snapshot=snapshot_version is not None,
            replayed=replayed,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return Loaded(aggregate=aggregate, snapshot_version=snapshot_version, replayed=replayed)

    async def exists(self, aggregate_id: UUID) -> bool:
        """Whether the aggregate's stream holds any event (one cheap read)."""
        stream_id = self.aggregate_type.stream_id_for(aggregate_id)
        return await self.store.stream_version(stream_id) > 0

    async def _from_snapshot(
        self, stream_id: str, aggregate_id: UUID, version: int | None
    ) -> A | None:
        if self.snapshot_every is None:
            return None
        snapshot = await self.store.load_snapshot(stream_id)
        if snapshot is None:
            return None
        if version is not None and snapshot.version > version:
            return None  # taken after the version asked for: replay from the start
        if snapshot.state_schema != self.state.schema:
            logger.info(
                "snapshot ignored: state shape changed",
                stream_id=stream_id,
                snapshot_schema=snapshot.state_schema,
                current_schema=self.state.schema,
            )
            return None
        try:
            aggregate = self.state.decode(
                dict(snapshot.data), aggregate_id=aggregate_id, version=snapshot.version
            )
        except Exception as error:
            # A snapshot is only a shortcut: never let a bad one stop a load.
            logger.warning(
                "snapshot ignored: it does not decode", stream_id=stream_id, error=repr(error)
            )
            return None
        assert isinstance(aggregate, self.aggregate_type)
        return aggregate

    async def save(
        self, aggregate: A, *, metadata: Mapping[str, Any] | None = None
    ) -> AppendResult | None:
        """Append the aggregate's pending events; None when it has none.

        The append expects the stream at the version the aggregate was loaded
        at, so a concurrent writer makes it raise `ConcurrencyError` and
        nothing is written. `metadata` (e.g. ``correlation_id``,
        ``causation_id``) goes on every event.
        """
        if not isinstance(aggregate, self.aggregate_type):
            raise ConfigurationError(
                f"this repository saves {self.aggregate_type.__qualname__}, got "
                f"{type(aggregate).__qualname__}"
            )
        pending = aggregate.pending_events
        if not pending:
            return None
        extra = dict(metadata or {})
        new_events = []
        for event, event_id in zip(pending, aggregate.pending_event_ids, strict=True):
            encoded = self.events.encode(event)
            new_events.append(
                NewEvent(
                    encoded.event_type,
                    encoded.data,
                    metadata={**extra, **encoded.metadata()},
                    event_id=event_id,
                )
            )
        loaded_at = aggregate.version - len(pending)
        result = await self.store.append_events(
            aggregate.stream_id, new_events, expected_version=loaded_at
        )
        aggregate.mark_saved()
        if self._snapshot_due(loaded_at, aggregate.version):
            await self._snapshot(aggregate)
        return result

    def _snapshot_due(self, before: int, after: int) -> bool:
        every = self.snapshot_every
        return every is not None and before // every != after // every

    async def _snapshot(self, aggregate: A) -> None:
        try:
            await self.store.save_snapshot(
                Snapshot(
                    stream_id=aggregate.stream_id,
                    version=aggregate.version,
                    state_schema=self.state.schema,
                    data=self.state.encode(aggregate),
                )
            )
        except Exception as error:
            # The events are saved; a missing snapshot only makes the next load longer.
            logger.warning(
                "snapshot failed; the save stands",
                stream_id=aggregate.stream_id,
                version=aggregate.version,
                error=repr(error),
            )
        else:
            logger.debug("snapshot taken", stream_id=aggregate.stream_id, version=aggregate.version)

    async def update(
        self,
        aggregate_id: UUID,
        command: Callable[[A], Awaitable[object] | object],
        *,
        metadata: Mapping[str, Any] | None = None,
    ) -> A:
        """Load, run `command` on the aggregate, save; again on a concurrent write.

        On `ConcurrencyError` the aggregate is reloaded and the command run
        again on the fresh state, with jittered backoff, until `retry_for`
        seconds have passed or `max_attempts` runs (whichever bound is set
        and comes first); then `UpdateGaveUpError` (a `ConcurrencyError`)
        says how many attempts were made over how long. On a store error
        that may pass (`TransientStoreError`, `StoreUnavailableError`) the
        same events are saved again under the same ids, so an append whose
        reply was lost is not written twice. Exceptions raised by the command
        itself (domain errors) are not retried. Returns the saved aggregate.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            aggregate = await self.load(aggregate_id)
            outcome = command(aggregate)
            if inspect.isawaitable(outcome):
                await outcome
            try:
                await self._save_through_store_errors(aggregate, metadata)
            except ConcurrencyError as conflict:
                pause = self._pause(attempt)
                if self._out_of_budget(attempt, time.monotonic() - started + pause):
                    raise self._gave_up(conflict, attempt, started) from conflict
                logger.info(
                    "concurrent write; retrying update",
                    stream_id=conflict.stream_id,
                    attempt=attempt,
                    expected=conflict.expected,
                    actual=conflict.actual,
                    pause_ms=round(pause * 1000, 3),
                )
                await asyncio.sleep(pause)
            else:
                return aggregate

    def _out_of_budget(self, attempts: int, elapsed_after_pause: float) -> bool:
        # The deadline counts the pause before the next attempt: sleeping
        # past it only to give up later would waste the caller's time.
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return True
        return self.retry_for is not None and elapsed_after_pause >= self.retry_for

    def _gave_up(
        self, conflict: ConcurrencyError, attempts: int, started: float
    ) -> UpdateGaveUpError:
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

    async def _save_through_store_errors(
        self, aggregate: A, metadata: Mapping[str, Any] | None
    ) -> None:
        # A store error may hide an append that committed before its reply was
        # lost. Saving the same aggregate again sends the same event ids, which
        # the store recognises as that append: it is written once either way.
        attempts = self.max_attempts or _STORE_ERROR_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                await self.save(aggregate, metadata=metadata)
            except (TransientStoreError, StoreUnavailableError) as error:
                if attempt == attempts:
                    raise
                pause = self._pause(attempt)
                logger.info(
                    "store error; saving again with the same event ids",
                    stream_id=aggregate.stream_id,
                    attempt=attempt,
                    error=repr(error),
                    pause_ms=round(pause * 1000, 3),
                )
                await asyncio.sleep(pause)
            else:
                return

    def _pause(self, attempt: int) -> float:
        return self._rng.uniform(0, min(self.backoff_max, self.backoff_base * 2**attempt))


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(
            f"invalid version {version!r}: pass the version to load the state at, an int "
            "from 1 (or None for the current state)"
        )
    return version

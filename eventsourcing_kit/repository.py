"""`Repository`: load aggregates from snapshot + tail, save with optimistic concurrency."""

from __future__ import annotations

import asyncio
import inspect
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any, Generic, TypeVar
from uuid import UUID

import cattrs

from eventsourcing_kit._command_queue import CommandQueue, check_batch_size
from eventsourcing_kit._loaded import A, Loaded
from eventsourcing_kit._logging import get_logger
from eventsourcing_kit._retry import RetryBounds, check_retry_options, through_store_errors
from eventsourcing_kit.domain import Aggregate, EventRegistry
from eventsourcing_kit.errors import (
    AggregateNotFound,
    ConcurrencyError,
    ConfigurationError,
    InvalidInputError,
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

R = TypeVar("R")

logger = get_logger(__name__)

DEFAULT_RETRY_FOR = 10.0
"""Seconds `update` keeps retrying after concurrent writes, by default.

A deadline rather than a count: how many attempts a writer needs grows with
the number of writers sharing the stream, while how long a caller can wait
does not (benchmarks/hot_aggregate.py measures a hot aggregate).
"""

_STORE_ERROR_ATTEMPTS = 5
"""Saves of the same events after store errors, when `max_attempts` is None."""

DEFAULT_UPDATE_BATCH_SIZE = 32
"""Queued `update`s of one aggregate saved in one append, at most, by default."""


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
    - `queue_updates`, `update_batch_size`: concurrent `update`s of one
      aggregate in this repository wait in a queue instead of racing, and up
      to `update_batch_size` of them run on one loaded aggregate and are
      saved in one append (see `update`). `queue_updates=False`: every
      `update` loads, runs and saves on its own, and they race.
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
        queue_updates: bool = True,
        update_batch_size: int = DEFAULT_UPDATE_BATCH_SIZE,
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
        check_retry_options(max_attempts=max_attempts, retry_for=retry_for)
        check_batch_size(update_batch_size)
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
        self._queue = CommandQueue(self, batch_size=update_batch_size) if queue_updates else None

    @property
    def _retry_bounds(self) -> RetryBounds:
        """The bounds and backoff of `update`'s retries, as the options give them now."""
        return RetryBounds(
            max_attempts=self.max_attempts,
            retry_for=self.retry_for,
            backoff_base=self.backoff_base,
            backoff_max=self.backoff_max,
            rng=self._rng,
        )

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
        new_events = self._encode_events(pending, aggregate.pending_event_ids, metadata)
        loaded_at = aggregate.version - len(pending)
        result = await self.store.append_events(
            aggregate.stream_id, new_events, expected_version=loaded_at
        )
        aggregate.mark_saved()
        await self._snapshot_if_due(aggregate, loaded_at)
        return result

    def _encode_events(
        self, events: list[object], event_ids: list[UUID], metadata: Mapping[str, Any] | None
    ) -> list[NewEvent]:
        """Recorded events as the store takes them, with `metadata` on each."""
        extra = dict(metadata or {})
        new_events = []
        for event, event_id in zip(events, event_ids, strict=True):
            encoded = self.events.encode(event)
            new_events.append(
                NewEvent(
                    encoded.event_type,
                    encoded.data,
                    metadata={**extra, **encoded.metadata()},
                    event_id=event_id,
                )
            )
        return new_events

    async def _snapshot_if_due(self, aggregate: A, before: int) -> None:
        """Snapshot `aggregate` if saving it from version `before` crossed a multiple.

        A batch that crosses the multiple, however far, is snapshotted at its
        own last version; a failed snapshot is logged, never raised.
        """
        every = self.snapshot_every
        if every is not None and before // every != aggregate.version // every:
            await self._snapshot(aggregate)

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

        Concurrent updates of one aggregate through this repository are
        queued (unless `queue_updates=False`) and run one after the other,
        each on the state the previous one left, up to `update_batch_size`
        of them on one loaded aggregate and saved in one append. Each caller
        still gets its own outcome: the aggregate in the state just after its
        command, or the exception its command raised, with none of that
        command's events saved. Cancelling a caller whose command has not
        run yet removes it from the queue.

        On `ConcurrencyError` (a writer elsewhere saved first) the aggregate is
        reloaded and the command run again on the fresh state, with jittered
        backoff, until `retry_for` seconds have passed since the call or
        `max_attempts` runs (whichever bound is set and comes first); then
        `UpdateGaveUpError` (a `ConcurrencyError`) says how many attempts were
        made over how long. On a store error that may pass
        (`TransientStoreError`, `StoreUnavailableError`) the same events are
        saved again under the same ids, so an append whose reply was lost is
        not written twice. Exceptions raised by the command itself (domain
        errors) are not retried. Returns the saved aggregate.
        """
        if self._queue is None or self._queue.runs_inside(aggregate_id):
            return await self._update_alone(aggregate_id, command, metadata)
        return await self._queue.submit(aggregate_id, command, metadata)

    async def _update_alone(
        self,
        aggregate_id: UUID,
        command: Callable[[A], Awaitable[object] | object],
        metadata: Mapping[str, Any] | None,
    ) -> A:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            aggregate = await self.load(aggregate_id)
            outcome = command(aggregate)
            if inspect.isawaitable(outcome):
                await outcome
            try:
                await self._through_store_errors(
                    aggregate.stream_id, partial(self.save, aggregate, metadata=metadata)
                )
            except ConcurrencyError as conflict:
                bounds = self._retry_bounds
                pause = bounds.pause(attempt)
                if bounds.out_of_budget(attempt, time.monotonic() - started + pause):
                    raise bounds.gave_up(conflict, attempt, started) from conflict
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

    async def _append_through_store_errors(
        self, stream_id: str, new_events: list[NewEvent], expected_version: int
    ) -> AppendResult:
        """Append, and again with the same events after a store error that may pass."""
        return await self._through_store_errors(
            stream_id,
            lambda: self.store.append_events(
                stream_id, new_events, expected_version=expected_version
            ),
        )

    async def _through_store_errors(self, stream_id: str, append: Callable[[], Awaitable[R]]) -> R:
        attempts = self.max_attempts or _STORE_ERROR_ATTEMPTS
        return await through_store_errors(self._retry_bounds, attempts, stream_id, append)


def _check_version(version: object) -> int:
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(
            f"invalid version {version!r}: pass the version to load the state at, an int "
            "from 1 (or None for the current state)"
        )
    return version

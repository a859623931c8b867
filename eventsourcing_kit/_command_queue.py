"""`CommandQueue`: one process's concurrent updates of an aggregate, run in turn, saved together.

Optimistic writers of one stream race: of N updates that load the same
version, one append wins and N - 1 reload and run again, so a hot aggregate
spends most of its loads and appends on attempts that lose. Within one
process there is no need to race. An `update` that finds its aggregate idle
in this repository runs alone in its caller's task, as without a queue; the
`update`s that arrive meanwhile queue behind it, and once it is done one task
(the lane's worker) takes up to `batch_size` of them at a time, loads the
aggregate once, runs the commands one after the other on it, and saves all
their events in one append expecting the version it loaded. Writers in other
processes still race with the batch: a `ConcurrencyError` sends the whole
batch round again, under each caller's own retry bounds.

What each caller sees stays what a lone `update` gives it:

- its command runs on the latest state, including the events of the commands
  queued before it;
- its own exception, and nothing of its command saved: the batch drops the
  command's events and state changes by rebuilding the aggregate from the
  state before it (loaded at the batch's version, then the earlier commands'
  events replayed: no command runs twice for it). A command that ends in
  `CancelledError` (what it awaited was cancelled) cancels its caller's
  update alone, the same way;
- its own aggregate object, in the state just after its command: a copy made
  through the snapshot codec and checked equal to the original. When a state
  does not survive that round trip, the batch ends at that command and the
  next one starts from a fresh load: such aggregates are saved one command
  per append, still without racing;
- cancelling a caller that is still queued takes its command out; the other
  callers are not affected. Once its command has run, its events are saved
  with the batch (as a cancelled lone update may have committed its append).

The worker runs a command in its caller's `contextvars` context, so that
context-bound log fields and the like follow the command. Lanes live in the
repository (no global state) and disappear when their queue is empty.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import inspect
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic
from uuid import UUID

import attrs

from eventsourcing_kit._loaded import A
from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConcurrencyError, ConfigurationError
from eventsourcing_kit.serialization import StateCodec, decode_json, storable_json
from eventsourcing_kit.stores import NewEvent

if TYPE_CHECKING:
    from eventsourcing_kit.repository import Repository

__all__ = ["CommandQueue", "check_batch_size", "copy_state"]

# The repository's own logger name: an application filters its lines by one name.
logger = get_logger("eventsourcing_kit.repository")


@attrs.define(eq=False)
class _Request(Generic[A]):
    """One caller's `update`: its command, and the future the caller awaits."""

    command: Callable[[A], Awaitable[object] | object]
    metadata: Mapping[str, Any] | None
    context: contextvars.Context
    future: asyncio.Future[A]
    started: float
    runs: int = 0


@attrs.define(eq=False)
class _Ran(Generic[A]):
    """A command that ran in the batch: its events, encoded, and its caller's aggregate.

    `result` None: the caller gets the batch's aggregate itself (the last
    command of the batch, which needs no copy).
    """

    request: _Request[A]
    events: list[object]
    new_events: list[NewEvent]
    result: A | None


@attrs.define(eq=False)
class _Lane(Generic[A]):
    """The queue of one aggregate id, and the task that works through it."""

    waiting: collections.deque[_Request[A]] = attrs.field(factory=collections.deque)
    leader: asyncio.Task[Any] | None = None
    """The caller running its update alone in its own task, found the lane idle."""
    worker: asyncio.Task[None] | None = None
    command_task: asyncio.Task[object] | None = None
    conflicts: int = 0
    """Batches in a row refused by a concurrent write: the backoff's attempt."""


class CommandQueue(Generic[A]):
    """The update queues of one repository, one lane per aggregate id."""

    def __init__(self, repository: Repository[A], *, batch_size: int) -> None:
        self._repository = repository
        self._batch_size = batch_size
        self._lanes: dict[UUID, _Lane[A]] = {}

    def runs_inside(self, aggregate_id: UUID) -> bool:
        """Whether the running task is a queued command of this aggregate.

        Such a nested `update` of the same aggregate cannot wait for its turn
        (the turn is the command's own): it must run on its own.
        """
        lane = self._lanes.get(aggregate_id)
        current = asyncio.current_task()
        return lane is not None and current in (lane.command_task, lane.leader)

    async def submit(
        self,
        aggregate_id: UUID,
        command: Callable[[A], Awaitable[object] | object],
        metadata: Mapping[str, Any] | None,
    ) -> A:
        """Queue `command` for `aggregate_id`; the saved aggregate, or the command's error."""
        lane = self._lanes.get(aggregate_id)
        if lane is None:
            return await self._lead(aggregate_id, command, metadata)
        loop = asyncio.get_running_loop()
        request = _Request(
            command, metadata, contextvars.copy_context(), loop.create_future(), time.monotonic()
        )
        lane.waiting.append(request)
        if lane.worker is None and lane.leader is None:
            self._start_worker(aggregate_id, lane)
        # Cancelling this caller cancels only its future: the worker skips it.
        saved: A = await request.future
        return saved

    async def _lead(
        self,
        aggregate_id: UUID,
        command: Callable[[A], Awaitable[object] | object],
        metadata: Mapping[str, Any] | None,
    ) -> A:
        # Nobody else is updating this aggregate here: the caller updates it
        # alone, in its own task, exactly as without a queue (no task, no
        # copy), while the updates arriving meanwhile queue behind it.
        lane = self._lanes[aggregate_id] = _Lane(leader=asyncio.current_task())
        try:
            return await self._repository._update_alone(aggregate_id, command, metadata)
        finally:
            # Cancelled or not, hand the queue over: its callers are not ours to fail.
            lane.leader = None
            if lane.waiting:
                self._start_worker(aggregate_id, lane)
            elif self._lanes.get(aggregate_id) is lane:
                del self._lanes[aggregate_id]

    def _start_worker(self, aggregate_id: UUID, lane: _Lane[A]) -> None:
        # An empty context: the worker belongs to no caller; each command runs
        # in its own caller's context.
        lane.worker = asyncio.get_running_loop().create_task(
            self._drain(aggregate_id, lane), context=contextvars.Context()
        )

    async def _drain(self, aggregate_id: UUID, lane: _Lane[A]) -> None:
        batch: list[_Request[A]] = []
        try:
            while True:
                batch = self._take(lane)
                if not batch:
                    # The callers of the batch just saved run first, and those
                    # that update again join this queue instead of finding it
                    # gone and going alone, one at a time before the rest.
                    await asyncio.sleep(0)
                    batch = self._take(lane)
                    if not batch:
                        return
                await self._run(aggregate_id, lane, batch)
        except BaseException as error:
            # Only a cancelled worker (the event loop closing) or a bug gets
            # here: no caller may be left waiting for ever.
            for request in (*batch, *lane.waiting):
                if not request.future.done():
                    if isinstance(error, asyncio.CancelledError):
                        request.future.cancel()
                    else:
                        request.future.set_exception(error)
            if isinstance(error, asyncio.CancelledError):
                raise
            logger.error("update queue failed", aggregate_id=str(aggregate_id), error=repr(error))
        finally:
            if self._lanes.get(aggregate_id) is lane:
                del self._lanes[aggregate_id]

    def _take(self, lane: _Lane[A]) -> list[_Request[A]]:
        batch: list[_Request[A]] = []
        while lane.waiting and len(batch) < self._batch_size:
            request = lane.waiting.popleft()
            if not request.future.done():  # else its caller was cancelled while queued
                batch.append(request)
        return batch

    async def _run(self, aggregate_id: UUID, lane: _Lane[A], batch: list[_Request[A]]) -> None:
        """One attempt at the batch: load, run each command, one append."""
        repository = self._repository
        ran: list[_Ran[A]] = []
        appending = False
        try:
            work = await repository.load(aggregate_id)
            base = work.version
            limit = repository.store.capabilities.max_events_per_append
            count = 0
            for index, request in enumerate(batch):
                if request.future.done():
                    continue  # its caller was cancelled before its turn
                mark = len(work.pending_events)
                request.runs += 1
                try:
                    await self._run_command(lane, request, work)
                    events = work.pending_events[mark:]
                    ids = work.pending_event_ids[mark:]
                    new_events = repository._encode_events(events, ids, request.metadata)
                except (Exception, asyncio.CancelledError) as error:
                    # A domain error (or an event that does not encode) is its
                    # caller's alone: the others go on from the state before it.
                    # So is a cancelled command (what it awaited was cancelled):
                    # its caller's update is cancelled, as a lone one would be;
                    # only the worker's own cancellation (the event loop
                    # closing) ends the queue.
                    if not isinstance(error, asyncio.CancelledError):
                        request.future.set_exception(error)
                    elif _cancelled_itself():
                        raise
                    else:
                        request.future.cancel()
                    work = await self._rebuild(aggregate_id, base, ran)
                    continue
                if limit is not None and ran and count + len(new_events) > limit:
                    # More events than the backend takes in one append: this
                    # command runs again in the next batch, on the new state.
                    request.runs -= 1
                    lane.waiting.extendleft(reversed(batch[index:]))
                    work = await self._rebuild(aggregate_id, base, ran)
                    break
                count += len(new_events)
                later = [r for r in batch[index + 1 :] if not r.future.done()]
                result = copy_state(repository.state, work) if later else None
                ran.append(_Ran(request, list(events), new_events, result))
                if later and result is None:
                    # No faithful copy of this state: the batch ends here and
                    # this caller gets the batch's aggregate itself.
                    lane.waiting.extendleft(reversed(later))
                    break
            if not ran:
                return
            stream_id = work.stream_id
            new_events = [event for one in ran for event in one.new_events]
            if new_events:  # else, as `save` with nothing pending: no append
                appending = True
                await repository._append_through_store_errors(stream_id, new_events, base)
        except ConcurrencyError as conflict:
            await self._after_conflict(lane, [one.request for one in ran], conflict)
            return
        except Exception as error:
            # A store error after its own retries goes to the callers whose
            # commands it concerns: a failed append to those it carried (the
            # commands sent back to the queue wait for the next batch), a
            # failed load to the whole batch.
            failed = [one.request for one in ran] if appending else batch
            for request in failed:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        lane.conflicts = 0
        work.mark_saved()
        await repository._snapshot_if_due(work, base)
        logger.debug(
            "queued updates saved",
            stream_id=stream_id,
            commands=len(ran),
            events=len(new_events),
            version=work.version,
        )
        for one in ran:
            if not one.request.future.done():
                one.request.future.set_result(work if one.result is None else one.result)

    async def _run_command(self, lane: _Lane[A], request: _Request[A], work: A) -> None:
        outcome = request.context.run(request.command, work)
        if not inspect.isawaitable(outcome):
            return
        awaitable = outcome

        async def finish() -> object:
            return await awaitable

        # A task of its own, to run the rest of the command in its caller's
        # context (and to recognise an update nested inside it).
        lane.command_task = asyncio.get_running_loop().create_task(
            finish(), context=request.context
        )
        try:
            await lane.command_task
        finally:
            lane.command_task = None

    async def _rebuild(self, aggregate_id: UUID, base: int, ran: list[_Ran[A]]) -> A:
        # The state after the commands that succeeded so far: the batch's
        # version loaded again, then their events replayed. Replaying rather
        # than re-running them runs no command twice; a deep copy would carry
        # whatever a failed command changed outside `apply`.
        work = await self._repository.load(aggregate_id, version=base)
        work.replay([event for one in ran for event in one.events])
        return work

    async def _after_conflict(
        self, lane: _Lane[A], requests: list[_Request[A]], conflict: ConcurrencyError
    ) -> None:
        """Another writer saved first: retry the batch's commands within their bounds."""
        bounds = self._repository._retry_bounds
        lane.conflicts += 1
        pause = bounds.pause(lane.conflicts)
        now = time.monotonic()
        retry = []
        for request in requests:
            if request.future.done():
                continue
            if bounds.out_of_budget(request.runs, now - request.started + pause):
                error = bounds.gave_up(conflict, request.runs, request.started)
                error.__cause__ = conflict
                request.future.set_exception(error)
            else:
                retry.append(request)
        if not retry:
            return
        logger.info(
            "concurrent write; retrying update",
            stream_id=conflict.stream_id,
            attempt=lane.conflicts,
            commands=len(retry),
            expected=conflict.expected,
            actual=conflict.actual,
            pause_ms=round(pause * 1000, 3),
        )
        await asyncio.sleep(pause)
        lane.waiting.extendleft(reversed(retry))


def _cancelled_itself() -> bool:
    # Whether the running task has been asked to stop, as opposed to an
    # awaited task ending in CancelledError of its own.
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def check_batch_size(batch_size: object) -> None:
    """Refuse an `update_batch_size` that is not an int >= 1."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"update_batch_size must be an int >= 1, got {batch_size!r}")


def copy_state(state: StateCodec, aggregate: A) -> A | None:
    """A separate aggregate equal to `aggregate` (no pending events), or None.

    Made through the snapshot codec and JSON, so that it shares no mutable
    value with the original, and checked equal to it; None when the state
    does not survive that round trip unchanged.
    """
    try:
        encoded = storable_json(state.encode(aggregate))
        if encoded is None:
            return None
        copy = state.decode(
            decode_json(encoded), aggregate_id=aggregate.id, version=aggregate.version
        )
    except Exception:
        return None
    if not isinstance(copy, type(aggregate)) or copy != aggregate:
        return None
    return copy

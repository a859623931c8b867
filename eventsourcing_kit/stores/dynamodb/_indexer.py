"""The indexer: the table's stream in, the global order out.

Appenders never touch a shared item, so nothing in an append numbers it
globally. The indexer tails the table's stream, treats each new event
record as "stream S has events up to version V", reads the stream's events
that have no global position yet, in version order, and in one transaction
per batch, fenced by its lease: gives each one the next global position
(written once, on a condition that it has none), copies it into the global
log, and moves the watermark and its place in the stream's shards. Readers
read the global log up to the watermark only. Reading the stream's events
from the table, rather than trusting the order of stream records, keeps
each stream in version order even when one transaction's records are
split across reads; a record read twice (after a restart) finds its event
indexed and is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.stores.driver import AppendSignal
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._items import (
    Item,
    category_log_item,
    global_log_item,
    indexer_key,
    is_event_key,
    item_size,
    stream_key,
)
from eventsourcing_kit.stores.dynamodb._lease import (
    Lease,
    fence,
    release_lease,
    renew_lease,
    seize_lease,
    take_lease,
)
from eventsourcing_kit.stores.dynamodb._reads import INDEXER_NAME
from eventsourcing_kit.stores.dynamodb._shards import Shards, stream_arn
from eventsourcing_kit.stores.dynamodb._unindexed import unindexed_events

__all__ = ["Indexer"]

logger = get_logger(__name__)

# Three actions per event (global log copy, category log copy, position)
# plus the fence and the state.
_EVENTS_PER_COMMIT = 32
_BYTES_PER_COMMIT = 3 * 1024 * 1024
_REMEMBERED = 100_000


class _LostLease(Exception):
    """The lease now names another indexer: this one must stop writing."""


class Indexer:
    """One process's indexer: active while it holds the lease, standby otherwise."""

    def __init__(
        self,
        calls: Calls,
        signal: AppendSignal,
        *,
        lease_ttl: float,
        poll_interval: float,
        standby_poll: float,
        shard_read_interval: float,
    ) -> None:
        self._calls = calls
        self._signal = signal
        self._ttl = lease_ttl
        self._poll = poll_interval
        self._standby_poll = standby_poll
        self._shard_read_interval = shard_read_interval
        self.owner = uuid.uuid4().hex
        self._lease: Lease | None = None
        self._renewed = 0.0
        self._wake = asyncio.Event()
        self._shards: Shards | None = None
        self._next = 1
        self._sequences: dict[str, str] = {}
        self._finished: list[str] = []
        self._indexed: dict[str, int] = {}
        self._recent: dict[tuple[str, int], int] = {}

    @property
    def active(self) -> bool:
        return self._lease is not None

    def poke(self) -> None:
        """An append committed in this process: look at the stream now."""
        self._wake.set()

    def recent(self, stream_id: str, version: int) -> int | None:
        """The global position this indexer gave the event, if it remembers."""
        return self._recent.get((stream_id, version))

    # --- the loop ---------------------------------------------------------------

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                indexed = await self._step()
                failures = 0
            except asyncio.CancelledError:
                raise
            except _LostLease:
                logger.info("indexer lost its lease", owner=self.owner)
                self._step_down()
                continue
            except Exception as error:
                failures += 1
                logger.warning(
                    "indexer pass failed; retrying", error=repr(error), failures=failures
                )
                self._step_down()
                await asyncio.sleep(min(self._ttl / 2, 0.05 * 2**failures))
                continue
            if indexed is None:
                await asyncio.sleep(self._standby_poll)
            elif indexed == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _step(self) -> int | None:
        """One pass: events indexed, or None when another indexer is active."""
        if self._lease is None:
            if not await self._take():
                return None
        else:
            await self.renew_if_due()
        self._wake.clear()
        return await self.index_once()

    async def _take(self) -> bool:
        lease = await take_lease(self._calls, INDEXER_NAME, self.owner, self._ttl)
        if lease is None:
            return False
        self._lease = lease
        self._renewed = time.monotonic()
        await self._load_state()
        logger.info("indexer took the lease", owner=self.owner, epoch=lease.epoch)
        return True

    async def take_over(self) -> None:
        """Take the lease whoever holds it (a reindex): the holder's next commit fails
        its fence, and it stands by until this indexer stops."""
        self._lease = await seize_lease(self._calls, INDEXER_NAME, self.owner, self._ttl)
        self._renewed = time.monotonic()
        await self._load_state()
        logger.info("indexer took the lease over", owner=self.owner, epoch=self._lease.epoch)

    @property
    def next_position(self) -> int:
        """The global position the next indexed event gets."""
        return self._next

    async def renew_if_due(self) -> None:
        """Renew the held lease when a third of its ttl has passed since the last time."""
        if time.monotonic() - self._renewed > self._ttl / 3:
            await self._renew()

    async def index_backlog(self, events: list[Item]) -> None:
        """Index `events` in the order given, then read every shard from its start.

        After records were lost (trimmed), the committed places in the
        shards may name records that are gone: starting over reads what the
        stream still holds, whose events are indexed already or are new.
        """
        for batch in _batches(events):
            await self.renew_if_due()
            await self._commit_batch(batch, self._sequences, self._finished)
        await self._commit_batch([], {}, [])

    async def _renew(self) -> None:
        assert self._lease is not None
        lease = await renew_lease(self._calls, self._lease, self._ttl)
        if lease is None:
            raise _LostLease()
        self._lease = lease
        self._renewed = time.monotonic()

    def _step_down(self) -> None:
        self._lease = None
        self._indexed.clear()
        if self._shards is not None:
            self._shards.forget_iterators()

    async def stop(self) -> None:
        """Give the lease up (a standby indexer takes over without waiting)."""
        lease, self._lease = self._lease, None
        if lease is not None:
            await release_lease(self._calls, lease)

    # --- state --------------------------------------------------------------

    async def _load_state(self) -> None:
        response = await self._calls(
            "get_item",
            TableName=self._calls.location.table,
            Key=indexer_key(INDEXER_NAME),
            ConsistentRead=True,
        )
        item = response.get("Item") or {}
        self._next = int(item["np"]["N"]) if "np" in item else 1
        self._sequences = {
            shard: value["S"] for shard, value in item.get("sh", {}).get("M", {}).items()
        }
        self._finished = [value["S"] for value in item.get("fin", {}).get("L", [])]
        if self._shards is None:
            self._shards = Shards(
                self._calls, await stream_arn(self._calls), self._shard_read_interval
            )
        self._shards.forget_iterators()

    def _state_item(
        self, next_position: int, sequences: dict[str, str], finished: list[str]
    ) -> Item:
        return {
            **indexer_key(INDEXER_NAME),
            "np": {"N": str(next_position)},
            "sh": {"M": {shard: {"S": value} for shard, value in sequences.items()}},
            "fin": {"L": [{"S": shard} for shard in finished]},
        }

    # --- a pass -------------------------------------------------------------

    async def index_once(self) -> int:
        """Read every ready shard once and index what its records announce."""
        assert self._shards is not None
        total = 0
        ready = await self._shards.ready(self._finished)
        for shard_id in ready:
            records, finished = await self._shards.records(shard_id, self._sequences.get(shard_id))
            announced, images = _announced(records)
            events = await unindexed_events(self._calls, announced, self._indexed, images)
            if events or finished:
                sequences = dict(self._sequences)
                if records:
                    sequences[shard_id] = records[-1]["dynamodb"]["SequenceNumber"]
                done = [*self._finished, shard_id] if finished else self._finished
                if finished:
                    # A finished shard no longer listed (trimmed) is no one's
                    # parent any more: forgetting it keeps the state item small.
                    await self._shards.ready(done, refresh=True)
                    listed = self._shards.listed()
                    done = [shard for shard in done if shard in listed]
                    sequences = {s: n for s, n in sequences.items() if s in listed}
                await self._commit(events, sequences, done)
            total += len(events)
        return total

    async def _commit(
        self, events: list[Item], sequences: dict[str, str], finished: list[str]
    ) -> None:
        batches = _batches(events)
        for number, batch in enumerate(batches, start=1):
            last = number == len(batches)
            await self._commit_batch(
                batch,
                sequences if last else self._sequences,
                finished if last else self._finished,
            )

    async def _commit_batch(
        self, events: list[Item], sequences: dict[str, str], finished: list[str]
    ) -> None:
        assert self._lease is not None
        table = self._calls.location.table
        first = self._next
        following = first + len(events)
        actions: list[dict[str, Any]] = [
            fence(table, self._lease),
            {"Put": {"TableName": table, "Item": self._state_item(following, sequences, finished)}},
        ]
        placed = []
        for position, event in enumerate(events, start=first):
            stream_id = event["pk"]["S"][2:]
            version = int(event["sk"]["N"])
            placed.append((stream_id, version, position))
            actions.append(
                {"Put": {"TableName": table, "Item": global_log_item(event, stream_id, position)}}
            )
            actions.append(
                {"Put": {"TableName": table, "Item": category_log_item(event, stream_id, position)}}
            )
            actions.append(
                {
                    "Update": {
                        "TableName": table,
                        "Key": stream_key(stream_id, version),
                        "UpdateExpression": "SET gp = :gp",
                        "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(gp)",
                        "ExpressionAttributeValues": {":gp": {"N": str(position)}},
                    }
                }
            )
        started = time.perf_counter()
        try:
            # The token makes a resend after a lost reply a no-op, not a
            # failed condition.
            await self._calls(
                "transact_write_items", TransactItems=actions, ClientRequestToken=uuid.uuid4().hex
            )
        except Canceled as canceled:
            if canceled.reasons and canceled.reasons[0].get("Code") == "ConditionalCheckFailed":
                raise _LostLease() from None
            raise
        self._next = following
        self._sequences = sequences
        self._finished = list(finished)
        self._remember(placed)
        self._signal.notify()
        if events:
            logger.debug(
                "indexed",
                count=len(events),
                first=first,
                last=following - 1,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )

    def _remember(self, placed: list[tuple[str, int, int]]) -> None:
        if len(self._recent) > _REMEMBERED:
            self._recent.clear()
        if len(self._indexed) > _REMEMBERED:
            self._indexed.clear()
        for stream_id, version, position in placed:
            self._recent[(stream_id, version)] = position
            self._indexed[stream_id] = max(version, self._indexed.get(stream_id, 0))


def _announced(
    records: list[dict[str, Any]],
) -> tuple[dict[str, int], dict[tuple[str, int], Item]]:
    """Each stream with new events in `records` and its highest version there,
    in the order the streams first appear; and the events' images."""
    announced: dict[str, int] = {}
    images: dict[tuple[str, int], Item] = {}
    for record in records:
        if record.get("eventName") != "INSERT":
            continue
        change = record["dynamodb"]
        keys = change["Keys"]
        if is_event_key(keys):
            stream_id = keys["pk"]["S"][2:]
            version = int(keys["sk"]["N"])
            announced[stream_id] = max(version, announced.get(stream_id, 0))
            if "NewImage" in change:
                images[(stream_id, version)] = change["NewImage"]
    return announced, images


def _batches(events: list[Item]) -> list[list[Item]]:
    """Events split into transactions within DynamoDB's action and size limits."""
    batches: list[list[Item]] = [[]]
    size = 0
    for event in events:
        # The event's two log copies, and the event item the update rewrites.
        cost = 3 * item_size(event) + 192
        if len(batches[-1]) >= _EVENTS_PER_COMMIT or (
            batches[-1] and size + cost > _BYTES_PER_COMMIT
        ):
            batches.append([])
            size = 0
        batches[-1].append(event)
        size += cost
    return batches

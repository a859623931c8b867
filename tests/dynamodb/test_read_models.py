"""Exactly-once read models: a checkpoint transaction's writes commit with its checkpoint.

On DynamoDB a checkpoint transaction's `connection` is a `ReadModelWrites`:
the handler's actions on its own tables go in one TransactWriteItems with
the conditional checkpoint, so a fenced runner writes nothing and a resend
after a lost reply writes nothing twice. The read model here is a table of
the test's own beside the store's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from dynamodb_proxy import dynamodb_proxy
from dynamodb_support import Table, read_model_table

from eventsourcing_kit import NewEvent, Position, RecordedEvent, subscribe
from eventsourcing_kit.errors import CheckpointFencedError, InvalidInputError
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore, ReadModelWrites, location_from_url
from eventsourcing_kit.subscriptions import HandlerContext, LeasePolicy, SubscriptionState
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS

COUNTER = {"pk": {"S": "events"}}
FAST = LeasePolicy(ttl=1.0)


@pytest.fixture
async def read_model(table: Table) -> AsyncIterator[str]:
    async with read_model_table(table, f"{table.name}_read_model") as name:
        yield name


def count_one(writes: ReadModelWrites, read_model: str) -> None:
    """A write that is wrong when made twice: it adds one to a counter."""
    writes.update(read_model, COUNTER, "ADD n :one", values={":one": {"N": "1"}})


async def handle_batch(
    store: DynamoDBEventStore, write: Callable[[ReadModelWrites, str], None], read_model: str
) -> None:
    """What a transactional runner does with its first batch: write, then save the
    checkpoint on the condition that none is stored yet."""
    async with store.checkpoint_transaction("projection") as transaction:
        write(transaction.connection, read_model)
        transaction.save(Position(1), expected=None)


async def counted(table: Table, read_model: str) -> int | None:
    response = await table.client.get_item(TableName=read_model, Key=COUNTER, ConsistentRead=True)
    item = response.get("Item")
    return None if item is None else int(item["n"]["N"])


async def test_read_model_writes_commit_with_the_checkpoint(
    ddb_store: DynamoDBEventStore, table: Table, read_model: str
) -> None:
    await handle_batch(ddb_store, count_one, read_model)
    assert await counted(table, read_model) == 1
    assert await ddb_store.load_checkpoint("projection") == Position(1)


async def test_a_fenced_transaction_writes_nothing_of_its_read_model(
    ddb_store: DynamoDBEventStore, table: Table, read_model: str
) -> None:
    await ddb_store.save_checkpoint("projection", Position(2))  # another runner moved on
    with pytest.raises(CheckpointFencedError):
        await handle_batch(ddb_store, count_one, read_model)
    assert await counted(table, read_model) is None
    assert await ddb_store.load_checkpoint("projection") == Position(2)


async def test_more_read_model_writes_than_a_transaction_holds_are_refused_before_sending(
    ddb_store: DynamoDBEventStore, table: Table, read_model: str
) -> None:
    def put_100(writes: ReadModelWrites, read_model: str) -> None:
        for n in range(100):
            writes.put(read_model, {"pk": {"S": f"row-{n}"}})

    with pytest.raises(InvalidInputError, match="at most 99 read-model writes"):
        await handle_batch(ddb_store, put_100, read_model)
    first = await table.client.get_item(TableName=read_model, Key={"pk": {"S": "row-0"}})
    assert "Item" not in first
    assert await ddb_store.load_checkpoint("projection") is None


async def test_a_lost_reply_neither_repeats_the_writes_nor_fences_the_runner(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore, table: Table, read_model: str
) -> None:
    location = location_from_url(store_factory.url(ddb_store))
    assert location.endpoint_url is not None
    async with dynamodb_proxy(location.endpoint_url) as proxy:
        url = attrs.evolve(location, endpoint_url=proxy.endpoint_url).url()
        store = await DynamoDBEventStore.open(url, **{**DYNAMODB_DEFAULTS, "indexer": False})
        try:
            proxy.lose_replies("TransactWriteItems", 1)
            await handle_batch(store, count_one, read_model)
        finally:
            await store.close()
    assert proxy.lost["TransactWriteItems"] == 1
    assert await counted(table, read_model) == 1
    assert await ddb_store.load_checkpoint("projection") == Position(1)


async def until(condition: Callable[[], bool]) -> None:
    async def poll() -> None:
        while not condition():  # noqa: ASYNC110 - plain reads of test state
            await asyncio.sleep(0.005)

    await asyncio.wait_for(poll(), 20)


async def test_a_runner_paused_past_its_lease_writes_nothing_of_its_batch(
    store_factory: StoreFactory,
    ddb_store: DynamoDBEventStore,
    table: Table,
    read_model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for n in range(6):
        await ddb_store.append_events("Account-1", [NewEvent("Deposited", {"n": n})])
    events = [str(event.event_id) async for event in ddb_store.read_all()]
    entered, resume = asyncio.Event(), asyncio.Event()

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        # A row per handling, so that a batch committed twice shows twice.
        item = {"pk": {"S": uuid.uuid4().hex}, "e": {"S": str(event.event_id)}}
        context.connection.put(read_model, item)

    async def paused(event: RecordedEvent, context: HandlerContext) -> None:
        await record(event, context)
        entered.set()
        await resume.wait()

    other = await store_factory.reopen(ddb_store)
    first = subscribe(other, "projection", paused, transactional=True, batch_size=3, lease=FAST)
    await first.start()
    await asyncio.wait_for(entered.wait(), 20)
    hang = asyncio.Event()

    async def stuck(*args: Any, **kwargs: Any) -> Any:
        await hang.wait()

    # The process is paused: its renewals hang until its lease expires.
    monkeypatch.setattr(other, "acquire_lease", stuck)
    second = subscribe(ddb_store, "projection", record, transactional=True, lease=FAST)
    await second.start()
    await until(lambda: second.state is SubscriptionState.LIVE)
    monkeypatch.undo()
    resume.set()  # it wakes up and commits its batch: fenced
    await until(lambda: first.state is SubscriptionState.STANDBY)
    await first.stop()
    await second.stop()
    scanned = await table.client.scan(TableName=read_model, ConsistentRead=True)
    assert Counter(item["e"]["S"] for item in scanned["Items"]) == Counter(events)

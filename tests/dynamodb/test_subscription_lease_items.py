"""Subscription leases on DynamoDB, seen from outside: the lease items and the command line.

The items are the ones docs/dynamodb.md describes: partition ``R#``, name
``n``, owner ``o``, epoch ``ep``. The lease contract and the subscription
lease, takeover and group tests run on DynamoDB as on the other backends.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from dynamodb_support import Table

from eventsourcing_kit import RecordedEvent, subscribe
from eventsourcing_kit.cli import main
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.subscriptions import SubscriptionState
from eventsourcing_kit.testing import StoreFactory


async def epoch_of(table: Table, name: str) -> int:
    response = await table.client.query(
        TableName=table.name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "R#"}},
        ConsistentRead=True,
    )
    [item] = [item for item in response["Items"] if item["n"]["S"] == name]
    return int(item["ep"]["N"])


async def test_a_lease_keeps_its_epoch_when_renewed_and_gets_a_new_one_when_it_changes_hands(
    ddb_store: DynamoDBEventStore, table: Table
) -> None:
    await ddb_store.acquire_lease("projection", owner="a", ttl=5)
    taken = await epoch_of(table, "projection")
    await ddb_store.acquire_lease("projection", owner="a", ttl=5)
    renewed = await epoch_of(table, "projection")
    await ddb_store.release_lease("projection", owner="a")
    await ddb_store.acquire_lease("projection", owner="b", ttl=5)
    assert (renewed, await epoch_of(table, "projection")) == (taken, taken + 1)


async def test_the_command_line_names_the_runner_holding_a_subscription_lease(
    store_factory: StoreFactory,
    ddb_store: DynamoDBEventStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def ignore(event: RecordedEvent) -> None:
        pass

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    await ddb_store.save_checkpoint("emails", ddb_store.start_position)
    subscription = subscribe(ddb_store, "emails", ignore)
    async with subscription:
        while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        # In a thread of its own: the command runs its own event loop.
        status = await asyncio.to_thread(
            main, ["subscriptions", "--json", "--url", store_factory.url(ddb_store)]
        )
    output = capsys.readouterr()
    assert status == 0, output.err
    [emails] = [json.loads(line) for line in output.out.splitlines()]
    assert f":{os.getpid()}:" in emails["lease_holder"]

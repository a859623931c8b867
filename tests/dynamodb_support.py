"""Reading and writing a DynamoDB store's table directly, by its documented layout
(docs/dynamodb.md, "The table"): what an operator's tool would do."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3

from eventsourcing_kit.stores.dynamodb import location_from_url
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS

LOG_BUCKET = 4096
"""Global positions per log partition."""


class Table:
    """The store's table, read and written directly, by its documented layout
    (docs/dynamodb.md, "The table"): a test's own client, as an operator's."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name

    async def get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        response = await self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        item: dict[str, Any] | None = response.get("Item")
        return item

    async def put(self, item: dict[str, Any]) -> None:
        await self.client.put_item(TableName=self.name, Item=item)


def layout_key(pk: str, sk: int = 0) -> dict[str, Any]:
    """An item's key: a string partition key and a number sort key."""
    return {"pk": {"S": pk}, "sk": {"N": str(sk)}}


def global_log_key(position: int) -> dict[str, Any]:
    return layout_key(f"G#{position // LOG_BUCKET}", position)


def category_log_key(category: str, position: int) -> dict[str, Any]:
    return layout_key(f"K#{category}#{position // LOG_BUCKET}", position)


@asynccontextmanager
async def read_model_table(table: Table, name: str) -> AsyncIterator[str]:
    """A table of the user's own beside the store's (key: string ``pk``), deleted after."""
    await table.client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield name
    finally:
        await table.client.delete_table(TableName=name)


@asynccontextmanager
async def open_table(url: str) -> AsyncIterator[Table]:
    """The table of the store at `url`, through a client of the caller's own."""
    location = location_from_url(url)
    async with aioboto3.Session().client(
        "dynamodb",
        endpoint_url=location.endpoint_url,
        region_name=location.region,
        aws_access_key_id=DYNAMODB_DEFAULTS["aws_access_key_id"],
        aws_secret_access_key=DYNAMODB_DEFAULTS["aws_secret_access_key"],
    ) as client:
        yield Table(client, location.table)

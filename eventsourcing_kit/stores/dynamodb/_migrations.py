"""`migrate(url)`: create the store's table from store/dynamodb/table.json.

The table definition is the file operators apply with the AWS CLI
(``aws dynamodb create-table --cli-input-json file://store/dynamodb/table.json
--table-name NAME``) or translate into CloudFormation; this applies the same
file, then checks that an existing table has the keys and stream the store needs.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack
from typing import Any

from eventsourcing_kit.errors import MigrationError, StoreError
from eventsourcing_kit.stores.driver import store_file
from eventsourcing_kit.stores.dynamodb._client import (
    Calls,
    Credentials,
    RetryPolicy,
    open_clients,
)
from eventsourcing_kit.stores.dynamodb._location import Location, location_from_url

__all__ = ["ensure_table", "migrate", "table_definition"]

_ACTIVE_TIMEOUT = 120.0


def table_definition(table: str) -> dict[str, Any]:
    """The CreateTable request of store/dynamodb/table.json, for table `table`."""
    definition: dict[str, Any] = json.loads(store_file("dynamodb", "table.json"))
    return {**definition, "TableName": table}


async def migrate(url: str, *, credentials: Credentials | None = None) -> list[str]:
    """Create the table of the ``dynamodb://table?...`` URL if it is missing.

    Returns what was done (``["create table NAME"]``, or nothing when the
    table was there). Raises `MigrationError` when an existing table lacks
    the keys or the stream the store needs.
    """
    location = location_from_url(url)
    async with AsyncExitStack() as stack:
        dynamodb, streams = await open_clients(
            stack, location, credentials or Credentials(), pool_size=2
        )
        return await ensure_table(Calls(dynamodb, streams, location, RetryPolicy()))


async def ensure_table(calls: Calls) -> list[str]:
    table = calls.location.table
    description = await _describe(calls)
    if description is None:
        try:
            await calls("create_table", **table_definition(table))
        except StoreError as error:
            if "ResourceInUseException" not in str(error):
                raise
        description = await _wait_active(calls)
        return [f"create table {table}"]
    _check(calls.location, description)
    return []


async def _describe(calls: Calls) -> dict[str, Any] | None:
    try:
        response = await calls("describe_table", TableName=calls.location.table)
    except StoreError as error:
        if "does not exist" in str(error):
            return None
        raise
    table: dict[str, Any] = response["Table"]
    return table


async def _wait_active(calls: Calls) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + _ACTIVE_TIMEOUT
    while True:
        description = await _describe(calls)
        if description is not None and description.get("TableStatus") == "ACTIVE":
            return description
        if asyncio.get_running_loop().time() > deadline:
            raise MigrationError(
                f"DynamoDB table {calls.location.table!r} did not become ACTIVE within "
                f"{_ACTIVE_TIMEOUT} s"
            )
        await asyncio.sleep(0.5)


def _check(location: Location, description: dict[str, Any]) -> None:
    keys = {key["AttributeName"]: key["KeyType"] for key in description.get("KeySchema", [])}
    stream = description.get("StreamSpecification") or {}
    problems = []
    if keys != {"pk": "HASH", "sk": "RANGE"}:
        problems.append(f"its keys are {keys}, the store needs pk (HASH) and sk (RANGE)")
    if not stream.get("StreamEnabled") or stream.get("StreamViewType") not in (
        "NEW_IMAGE",
        "NEW_AND_OLD_IMAGES",
    ):
        problems.append("its stream is off or has no new images (StreamViewType NEW_IMAGE)")
    if problems:
        raise MigrationError(
            f"DynamoDB table {location.table!r} exists but is not an event store table: "
            f"{'; '.join(problems)}. Use another table name, or see store/dynamodb/table.json"
        )

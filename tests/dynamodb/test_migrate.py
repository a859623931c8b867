"""Creating the table: `migrate`, the command line, and connect() by URL."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sysconfig

import aioboto3
import pytest

from eventsourcing_kit import NewEvent, connect
from eventsourcing_kit.errors import MigrationError
from eventsourcing_kit.stores.dynamodb import Credentials, migrate, table_definition
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS, REGION

CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"
LOCAL = Credentials(aws_access_key_id="local", aws_secret_access_key="local")


@pytest.fixture
async def url(store_factory: StoreFactory) -> str:
    """The URL of a table that does not exist yet (the factory deletes it afterwards)."""
    store = await store_factory.open("dynamodb", migrate=False, indexer=False)
    return store_factory.url(store)


async def test_migrate_creates_the_table_once(url: str) -> None:
    table = url.partition("://")[2].partition("?")[0]
    assert await migrate(url, credentials=LOCAL) == [f"create table {table}"]
    assert await migrate(url, credentials=LOCAL) == []


async def test_a_table_without_a_stream_is_refused(url: str, dynamodb_endpoint: str) -> None:
    table = url.partition("://")[2].partition("?")[0]
    definition = table_definition(table)
    del definition["StreamSpecification"]
    session = aioboto3.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
    )
    async with session.client("dynamodb", endpoint_url=dynamodb_endpoint) as client:
        await client.create_table(**definition)
    with pytest.raises(MigrationError, match="StreamViewType NEW_IMAGE"):
        await migrate(url, credentials=LOCAL)


def test_the_command_line_creates_the_table(url: str) -> None:
    environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    command = [CLI, "migrate", "--url", url]
    first = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    again = subprocess.run(command, env=environment, capture_output=True, text=True, check=True)
    assert "applied create table" in first.stdout
    assert "up to date" in again.stdout


async def test_connect_opens_the_store_of_a_dynamodb_url(url: str) -> None:
    async with connect(url, **DYNAMODB_DEFAULTS) as store:
        result = await store.append_events("Account-1", [NewEvent("Opened", {})])
        assert result.global_position == 1
        assert [event.event_type async for event in store.read_all()] == ["Opened"]


async def test_the_index_command_indexes_for_writers_that_run_no_indexer(
    url: str, store_factory: StoreFactory
) -> None:
    environment = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
    await migrate(url, credentials=LOCAL)
    indexer = await asyncio.create_subprocess_exec(
        CLI, "index", "--url", url, env=environment, stdout=asyncio.subprocess.PIPE
    )
    try:
        writer = await connect(url, indexer=False, **DYNAMODB_DEFAULTS)
        try:
            result = await writer.append_events("Account-1", [NewEvent("Opened", {})])
        finally:
            await writer.close()
        assert result.global_position == 1
    finally:
        indexer.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(indexer.wait(), 30) == 0

"""The indexer's lease: one holder at a time, taken over at a new epoch when its holder dies.

Seen from outside, in the lease item the docs describe (``L#global``: owner
``o``, epoch ``ep``, expiry ``ex``), with indexers in this process or in a
process of their own that the test SIGKILLs.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sysconfig
from typing import Any

from dynamodb_support import Table, layout_key, open_table

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing import StoreFactory

CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
LEASE = layout_key("L#global")


async def lease_of(table: Table) -> dict[str, Any]:
    item = await table.get(LEASE)
    assert item is not None, "no indexer ever took the lease"
    return {"owner": item["o"]["S"], "epoch": int(item["ep"]["N"])}


async def test_of_two_indexers_one_holds_the_lease_and_keeps_it(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore, table: Table
) -> None:
    other = await store_factory.reopen(ddb_store, indexer=True, lease_ttl=1.0)
    await other.append_events("Account-1", [NewEvent("Opened", {})])
    holder = (await lease_of(table))["owner"]
    await asyncio.sleep(1.5)  # past a ttl: the holder renews; the standby never takes it
    assert (await lease_of(table))["owner"] == holder
    await ddb_store.append_events("Account-2", [NewEvent("Opened", {})])
    assert (await lease_of(table))["owner"] == holder


async def test_a_killed_indexers_lease_is_taken_over_at_a_new_epoch(
    store_factory: StoreFactory,
) -> None:
    writer = await store_factory.open("dynamodb", indexer=False)
    doomed = await asyncio.create_subprocess_exec(
        CLI,
        "index",
        "--url",
        store_factory.url(writer),
        "--lease-ttl",
        "1.0",
        env={**os.environ, **LOCAL_CREDENTIALS},
        stdout=asyncio.subprocess.DEVNULL,
    )
    async with open_table(store_factory.url(writer)) as table:
        try:
            await writer.append_events("Account-1", [NewEvent("Opened", {})])
            before = await lease_of(table)
        finally:
            doomed.kill()
            await doomed.wait()
        replacement = await store_factory.reopen(writer, indexer=True, lease_ttl=1.0)
        result = await writer.append_events("Account-1", [NewEvent("Paid", {})])
        after = await lease_of(table)
    assert result.global_position == 2
    assert after["owner"] != before["owner"]
    assert after["epoch"] > before["epoch"]
    assert [e.event_type async for e in replacement.read_all()] == ["Opened", "Paid"]

"""`eventsourcing-kit reindex`: events whose stream records were lost get indexed from the table.

An outage of every indexer longer than the stream's 24-hour retention is
simulated: events are stored while no indexer runs, and the table's stream
is then turned off and on, which gives it a new, empty stream, so their
records are gone as trimmed ones would be.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from dynamodb_support import Table

from eventsourcing_kit import NewEvent
from eventsourcing_kit.cli import main
from eventsourcing_kit.errors import TransientStoreError
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing import StoreFactory


async def store_unindexed(writer: DynamoDBEventStore, stream_id: str, count: int) -> None:
    """Store events while no indexer runs: each append waits, then fails, its event stored."""
    for n in range(count):
        with pytest.raises(TransientStoreError):
            await writer.append_events(stream_id, [NewEvent("Deposited", {"n": n})])


async def lose_stream_records(table: Table) -> None:
    await table.client.update_table(
        TableName=table.name, StreamSpecification={"StreamEnabled": False}
    )
    await table.client.update_table(
        TableName=table.name,
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )


async def test_reindex_gives_events_whose_stream_records_were_lost_positions_after_the_watermark(
    store_factory: StoreFactory,
    ddb_store: DynamoDBEventStore,
    table: Table,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    await ddb_store.close()  # its indexer stops: no indexer runs
    writer = await store_factory.reopen(ddb_store, indexer=False, index_wait=0.1)
    await store_unindexed(writer, "Account-1", 2)
    await store_unindexed(writer, "Account-2", 2)
    await lose_stream_records(table)
    store = await store_factory.reopen(ddb_store, indexer=True)
    await store.append_events("Account-3", [NewEvent("Opened", {})])
    # The indexer never learns of the lost ones by itself.
    assert [(e.stream_id, e.version) async for e in store.read_all()] == [
        ("Account-1", 1),
        ("Account-3", 1),
    ]

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    status = await asyncio.to_thread(
        main, ["reindex", "--json", "--url", store_factory.url(ddb_store)]
    )
    output = capsys.readouterr()
    assert status == 0, output.err
    assert json.loads(output.out)["events"] == 4

    recovered = [(e.stream_id, e.version, e.position) async for e in store.read_all()]
    # After the watermark (2), each stream in version order, streams by recording time.
    assert recovered == [
        ("Account-1", 1, 1),
        ("Account-3", 1, 2),
        ("Account-1", 2, 3),
        ("Account-1", 3, 4),
        ("Account-2", 1, 5),
        ("Account-2", 2, 6),
    ]
    # The indexer it took the lease from resumes: appends are indexed again.
    appended = await store.append_events("Account-3", [NewEvent("Closed", {})])
    assert appended.position == 7

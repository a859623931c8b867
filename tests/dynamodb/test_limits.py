"""DynamoDB's limits are checked before an append is sent, and named when hit."""

from __future__ import annotations

import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import InvalidEventError, InvalidInputError
from eventsourcing_kit.stores import Snapshot, StreamAppend
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore


def events(count: int, *, size: int = 0) -> list[NewEvent]:
    return [NewEvent("Happened", {"n": n, "pad": "x" * size}) for n in range(count)]


async def test_an_append_over_100_transaction_actions_names_the_limit(
    ddb_store: DynamoDBEventStore,
) -> None:
    with pytest.raises(InvalidInputError, match="limit of 100 actions per transaction"):
        await ddb_store.append_events("Account-1", events(50))
    assert await ddb_store.stream_version("Account-1") == 0


async def test_49_events_fit_one_append_to_one_stream(ddb_store: DynamoDBEventStore) -> None:
    result = await ddb_store.append_events("Account-1", events(49), expected_version=0)
    assert result.version == 49


async def test_the_declared_capability_fits_any_spread_over_streams(
    ddb_store: DynamoDBEventStore,
) -> None:
    limit = ddb_store.capabilities.max_events_per_append
    assert limit is not None
    appends = [StreamAppend(f"Account-{n}", events(1)) for n in range(limit)]
    results = await ddb_store.append_many(appends)
    assert len(results) == limit


async def test_an_event_over_400_kb_names_the_item_limit(ddb_store: DynamoDBEventStore) -> None:
    with pytest.raises(InvalidEventError, match="item size limit of 409600 bytes"):
        await ddb_store.append_events("Account-1", events(1, size=410_000))
    assert await ddb_store.stream_version("Account-1") == 0


async def test_an_append_over_4_mb_names_the_transaction_limit(
    ddb_store: DynamoDBEventStore,
) -> None:
    with pytest.raises(InvalidInputError, match=r"limit of 4194304 bytes \(4 MB\)"):
        await ddb_store.append_events("Account-1", events(12, size=380_000))
    assert await ddb_store.stream_version("Account-1") == 0


async def test_a_snapshot_over_400_kb_names_the_item_limit(ddb_store: DynamoDBEventStore) -> None:
    snapshot = Snapshot(
        stream_id="Account-1", version=1, state_schema="v1", data={"pad": "x" * 410_000}
    )
    with pytest.raises(InvalidEventError, match="item size limit"):
        await ddb_store.save_snapshot(snapshot)
    assert await ddb_store.load_snapshot("Account-1") is None

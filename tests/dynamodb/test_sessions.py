"""Stores made from a session the application gives (`session=`)."""

from __future__ import annotations

import aioboto3
import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS, REGION


def emulator_session() -> aioboto3.Session:
    return aioboto3.Session(
        aws_access_key_id=DYNAMODB_DEFAULTS["aws_access_key_id"],
        aws_secret_access_key=DYNAMODB_DEFAULTS["aws_secret_access_key"],
        region_name=REGION,
    )


async def test_two_stores_made_from_one_session_share_the_table(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore
) -> None:
    session = emulator_session()
    url = store_factory.url(ddb_store)
    first = await DynamoDBEventStore.open(url, session=session, indexer=False)
    second = await DynamoDBEventStore.open(url, session=session, indexer=False)
    try:
        await ddb_store.append_events("Order-1", [NewEvent(event_type="Placed", data={})])
        assert await first.stream_version("Order-1") == 1
        assert await second.stream_version("Order-1") == 1
    finally:
        await first.close()
        await second.close()


async def test_a_session_with_credentials_as_well_is_refused(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore
) -> None:
    with pytest.raises(ConfigurationError, match="either a session or credentials"):
        await DynamoDBEventStore.open(
            store_factory.url(ddb_store), session=emulator_session(), profile_name="other"
        )


async def test_a_session_that_is_not_an_aioboto3_session_is_refused(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore
) -> None:
    with pytest.raises(ConfigurationError, match=r"pass an aioboto3\.Session"):
        await DynamoDBEventStore.open(store_factory.url(ddb_store), session="default")

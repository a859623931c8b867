"""Event-type filters are sent to DynamoDB (a FilterExpression): the events left out are
read (and paid for) by DynamoDB but never travel to the reader.

Measured on the wire, by the proxy in front of the emulator: the bytes of
the Query replies of a filtered read.
"""

from __future__ import annotations

import attrs
from dynamodb_proxy import dynamodb_proxy

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore, location_from_url
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS

PADDING = 2000


async def test_events_of_other_types_are_left_out_before_the_reply(
    store_factory: StoreFactory, ddb_store: DynamoDBEventStore
) -> None:
    noise = [NewEvent("Noise", {"pad": "x" * PADDING}) for _ in range(20)]
    await ddb_store.append_events("Account-1", [*noise, NewEvent("Wanted", {})])
    location = location_from_url(store_factory.url(ddb_store))
    assert location.endpoint_url is not None
    async with dynamodb_proxy(location.endpoint_url) as proxy:
        url = attrs.evolve(location, endpoint_url=proxy.endpoint_url).url()
        reader = await DynamoDBEventStore.open(url, **{**DYNAMODB_DEFAULTS, "indexer": False})
        try:
            found = [event.event_type async for event in reader.read_all(event_types=["Wanted"])]
        finally:
            await reader.close()
    assert found == ["Wanted"]
    # Less than one left-out event's payload came back.
    assert 0 < proxy.reply_bytes["Query"] < PADDING

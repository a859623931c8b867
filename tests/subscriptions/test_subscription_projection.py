"""Projection: typed, decoded events dispatched to one method per event type."""

from __future__ import annotations

import attrs
import pytest
from subscription_support import ReadModel, until

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.domain import event_type
from eventsourcing_kit.errors import ConfigurationError, HandlerError
from eventsourcing_kit.subscriptions import (
    HandlerContext,
    Projection,
    RetryPolicy,
    SubscriptionState,
    handles,
)


@attrs.frozen
class Deposited:
    amount: int


@event_type(
    name="Withdrawn",
    version=2,
    aliases=["MoneyTakenOut"],
    upcasters={1: lambda data: {"amount": data["sum"]}},
)
@attrs.frozen
class Withdrawn:
    amount: int


@attrs.frozen
class Renamed:
    name: str


class Balances(Projection):
    def __init__(self) -> None:
        super().__init__()
        self.balances: dict[str, int] = {}

    @handles(Deposited)
    async def deposited(self, event: Deposited, record: RecordedEvent) -> None:
        self.balances[record.stream_id] = self.balances.get(record.stream_id, 0) + event.amount

    @handles(Withdrawn)
    async def withdrawn(self, event: Withdrawn, record: RecordedEvent) -> None:
        self.balances[record.stream_id] = self.balances.get(record.stream_id, 0) - event.amount


async def test_events_reach_the_method_for_their_type_decoded(store: EventStore) -> None:
    await store.append_events(
        "Account-1",
        [
            NewEvent("Deposited", {"amount": 10}),
            NewEvent("Withdrawn", {"amount": 3}, {"schema_version": 2}),
        ],
    )
    projection = Balances()
    async with subscribe(store, "balances", projection) as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert projection.balances == {"Account-1": 7}


async def test_old_schema_versions_and_old_names_arrive_upcast(store: EventStore) -> None:
    await store.append_events("Account-1", [NewEvent("Deposited", {"amount": 10})])
    await store.append_events("Account-1", [NewEvent("MoneyTakenOut", {"sum": 4})])
    projection = Balances()
    async with subscribe(store, "balances", projection) as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert projection.balances == {"Account-1": 6}


async def test_events_of_other_types_are_ignored(store: EventStore) -> None:
    await store.append_events("Account-1", [NewEvent("Renamed", {"name": "x"})])
    await store.append_events("Account-1", [NewEvent("Deposited", {"amount": 1})])
    projection = Balances()
    async with subscribe(store, "balances", projection) as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert projection.balances == {"Account-1": 1}


def test_event_types_lists_the_handled_names_and_aliases() -> None:
    assert Balances().event_types == ("Deposited", "MoneyTakenOut", "Withdrawn")


async def test_an_undecodable_event_is_a_handler_failure(store: EventStore) -> None:
    await store.append_events("Account-1", [NewEvent("Deposited", {"amount": "lots"})])
    subscription = subscribe(
        store, "balances", Balances(), retry=RetryPolicy(max_retries=0, initial_delay=0)
    )
    with pytest.raises(HandlerError):
        await subscription.run()


def test_a_projection_without_handlers_is_rejected() -> None:
    class Empty(Projection):
        pass

    with pytest.raises(ConfigurationError):
        Empty()


class SeenDeposits(Projection):
    def __init__(self, model: ReadModel) -> None:
        super().__init__()
        self.model = model

    @handles(Deposited)
    async def deposited(
        self, event: Deposited, record: RecordedEvent, context: HandlerContext
    ) -> None:
        await self.model.record(context, record.event_id)


async def test_a_transactional_projection_gets_the_context_to_write_through(
    store: EventStore, read_model: ReadModel
) -> None:
    await store.append_events("Account-1", [NewEvent("Deposited", {"amount": 1})])
    projection = SeenDeposits(read_model)
    subscription = subscribe(store, "seen", projection, transactional=True)
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert await read_model.rows() == [str(e.event_id) async for e in store.read_all()]

"""The DynamoDB store passes the store contract, on DynamoDB Local."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from eventsourcing_kit import EventStore
from eventsourcing_kit.testing import StoreContract, StoreFactory

pytestmark = pytest.mark.dynamodb


class TestDynamoDBStore(StoreContract):
    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> EventStore:
        return await store_factory.open("dynamodb")

    @pytest.fixture
    def store_url(
        self, store_factory: StoreFactory, store: EventStore, monkeypatch: pytest.MonkeyPatch
    ) -> str:
        # connect(url) alone takes its credentials from the AWS chain: here,
        # the emulator's placeholders in this test's environment.
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
        return store_factory.url(store)

    @pytest.fixture
    def reopen(
        self, store_factory: StoreFactory, store: EventStore
    ) -> Callable[[], Awaitable[EventStore]]:
        return lambda: store_factory.reopen(store)

"""Store contract: leases, for a backend whose driver declares `supports_leases`."""

from __future__ import annotations

import asyncio

import pytest

from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores import EventStore, LeaseGranted, LeaseRefused

__all__ = ["LeaseContract"]


def _needs_leases(store: EventStore) -> None:
    if not store.supports_leases:
        pytest.skip("this backend keeps no leases")


class LeaseContract:
    """One holder at a time; renewal by the holder; takeover after expiry or release."""

    async def test_a_free_lease_is_granted(self, store: EventStore) -> None:
        _needs_leases(store)
        assert await store.acquire_lease("projection", owner="a", ttl=5) == LeaseGranted()

    async def test_a_held_lease_is_refused_to_another_owner_naming_its_holder(
        self, store: EventStore
    ) -> None:
        _needs_leases(store)
        await store.acquire_lease("projection", owner="a", ttl=5)
        assert await store.acquire_lease("projection", owner="b", ttl=5) == LeaseRefused("a")

    async def test_the_holder_renews_its_lease(self, store: EventStore) -> None:
        _needs_leases(store)
        await store.acquire_lease("projection", owner="a", ttl=5)
        assert await store.acquire_lease("projection", owner="a", ttl=5) == LeaseGranted()

    async def test_an_expired_lease_is_granted_to_another_owner(self, store: EventStore) -> None:
        _needs_leases(store)
        await store.acquire_lease("projection", owner="a", ttl=0.05)
        await asyncio.sleep(0.2)
        assert await store.acquire_lease("projection", owner="b", ttl=5) == LeaseGranted()
        assert await store.acquire_lease("projection", owner="a", ttl=5) == LeaseRefused("b")

    async def test_a_released_lease_is_granted_to_another_owner_at_once(
        self, store: EventStore
    ) -> None:
        _needs_leases(store)
        await store.acquire_lease("projection", owner="a", ttl=5)
        await store.release_lease("projection", owner="a")
        assert await store.acquire_lease("projection", owner="b", ttl=5) == LeaseGranted()

    async def test_releasing_a_lease_one_does_not_hold_changes_nothing(
        self, store: EventStore
    ) -> None:
        _needs_leases(store)
        await store.acquire_lease("projection", owner="a", ttl=5)
        await store.release_lease("projection", owner="b")
        assert await store.acquire_lease("projection", owner="b", ttl=5) == LeaseRefused("a")

    async def test_leases_are_kept_per_name(self, store: EventStore) -> None:
        _needs_leases(store)
        await store.acquire_lease("one", owner="a", ttl=5)
        assert await store.acquire_lease("two", owner="b", ttl=5) == LeaseGranted()

    async def test_racing_owners_get_one_holder(self, store: EventStore) -> None:
        _needs_leases(store)
        outcomes = await asyncio.gather(
            *(store.acquire_lease("projection", owner=f"o{n}", ttl=5) for n in range(6))
        )
        assert outcomes.count(LeaseGranted()) == 1

    async def test_a_lease_with_a_bad_ttl_is_rejected(self, store: EventStore) -> None:
        with pytest.raises(InvalidInputError, match="ttl"):
            await store.acquire_lease("projection", owner="a", ttl=0)

    async def test_lease_holders_lists_the_held_leases_under_a_prefix(
        self, store: EventStore
    ) -> None:
        _needs_leases(store)
        await store.acquire_lease("group:0/2", owner="a", ttl=5)
        await store.acquire_lease("group:1/2", owner="b", ttl=5)
        await store.acquire_lease("other", owner="c", ttl=5)
        assert await store.lease_holders("group:") == {"group:0/2": "a", "group:1/2": "b"}

    async def test_lease_holders_leaves_out_expired_and_released_leases(
        self, store: EventStore
    ) -> None:
        _needs_leases(store)
        await store.acquire_lease("group:0/2", owner="a", ttl=0.05)
        await store.acquire_lease("group:1/2", owner="b", ttl=5)
        await store.release_lease("group:1/2", owner="b")
        await asyncio.sleep(0.2)
        assert await store.lease_holders("group:") == {}

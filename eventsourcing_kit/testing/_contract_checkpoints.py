"""Store contract: conditional (fenced) checkpoint writes.

A subscription runner stores its checkpoint with ``expected=`` the position
it read: the write succeeds only where the stored checkpoint is still that
one, so that a runner that fell behind another never moves a checkpoint
backwards.
"""

from __future__ import annotations

import asyncio

import pytest

from eventsourcing_kit.errors import CheckpointFencedError
from eventsourcing_kit.stores import EventStore, Position
from eventsourcing_kit.testing._contract_support import numbered

__all__ = ["CheckpointContract"]


class CheckpointContract:
    """A checkpoint written with `expected` moves only from where the writer read it."""

    async def _positions(self, store: EventStore, count: int) -> list[Position]:
        await store.append_events("Account-1", numbered(count))
        return [event.position async for event in store.read_all()]

    async def test_a_conditional_checkpoint_is_stored_where_the_expected_one_is(
        self, store: EventStore
    ) -> None:
        first, second = await self._positions(store, 2)
        await store.save_checkpoint("projection", first)
        await store.save_checkpoint("projection", second, expected=first)
        assert await store.load_checkpoint("projection") == second

    async def test_a_first_conditional_checkpoint_expects_none(self, store: EventStore) -> None:
        (first,) = await self._positions(store, 1)
        await store.save_checkpoint("projection", first, expected=None)
        assert await store.load_checkpoint("projection") == first

    async def test_a_conditional_checkpoint_behind_the_stored_one_is_fenced(
        self, store: EventStore
    ) -> None:
        first, second, third = await self._positions(store, 3)
        await store.save_checkpoint("projection", third)
        with pytest.raises(CheckpointFencedError) as fenced:
            await store.save_checkpoint("projection", second, expected=first)
        assert (fenced.value.expected, fenced.value.actual) == (first, third)
        assert await store.load_checkpoint("projection") == third

    async def test_expecting_no_checkpoint_is_fenced_by_a_stored_one(
        self, store: EventStore
    ) -> None:
        first, second = await self._positions(store, 2)
        await store.save_checkpoint("projection", second)
        with pytest.raises(CheckpointFencedError) as fenced:
            await store.save_checkpoint("projection", first, expected=None)
        assert fenced.value.actual == second

    async def test_expecting_a_checkpoint_that_is_missing_is_fenced(
        self, store: EventStore
    ) -> None:
        first, second = await self._positions(store, 2)
        with pytest.raises(CheckpointFencedError) as fenced:
            await store.save_checkpoint("projection", second, expected=first)
        assert fenced.value.actual is None
        assert await store.load_checkpoint("projection") is None

    async def test_racing_conditional_checkpoints_have_one_winner(self, store: EventStore) -> None:
        positions = await self._positions(store, 5)
        await store.save_checkpoint("projection", positions[0])
        outcomes = await asyncio.gather(
            *(
                store.save_checkpoint("projection", position, expected=positions[0])
                for position in positions[1:]
            ),
            return_exceptions=True,
        )
        winners = [p for p, o in zip(positions[1:], outcomes, strict=True) if o is None]
        fenced = [o for o in outcomes if isinstance(o, CheckpointFencedError)]
        assert (len(winners), len(fenced)) == (1, 3), outcomes
        assert await store.load_checkpoint("projection") == winners[0]

    async def test_a_fenced_checkpoint_transaction_raises_and_keeps_the_stored_one(
        self, store: EventStore
    ) -> None:
        first, second, third = await self._positions(store, 3)
        await store.save_checkpoint("projection", third)
        with pytest.raises(CheckpointFencedError):
            async with store.checkpoint_transaction("projection") as transaction:
                transaction.save(second, expected=first)
        assert await store.load_checkpoint("projection") == third

    async def test_a_checkpoint_transaction_stores_where_the_expected_one_is(
        self, store: EventStore
    ) -> None:
        first, second = await self._positions(store, 2)
        await store.save_checkpoint("projection", first)
        async with store.checkpoint_transaction("projection") as transaction:
            transaction.save(second, expected=first)
        assert await store.load_checkpoint("projection") == second

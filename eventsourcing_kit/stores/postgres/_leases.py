"""Subscription leases on PostgreSQL: store/postgres/0012's functions, on the lane.

Expiry is by the server's clock, which every runner shares. A lease call is
sent again after a dead connection like the other statements: taking or
renewing a lease one holds, or giving it up, twice is the same as once.
"""

from __future__ import annotations

from eventsourcing_kit.stores.driver import LeaseGranted, LeaseOutcome, LeaseRefused
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._queries import Queries

__all__ = ["Leases"]


class Leases:
    """The lease statements of one store."""

    def __init__(self, lane: Lane, sql: Queries, *, schema: str) -> None:
        self._lane = lane
        self._sql = sql
        self._schema = schema

    async def acquire(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        try:
            row = await self._lane.fetchrow(self._sql.acquire_lease, name, owner, ttl)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
        granted, holder = row
        return LeaseGranted() if granted else LeaseRefused(holder)

    async def release(self, name: str, owner: str) -> None:
        try:
            await self._lane.fetch(self._sql.release_lease, name, owner)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    async def holders(self, prefix: str) -> dict[str, str]:
        try:
            rows = await self._lane.fetch(self._sql.lease_holders, prefix)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
        return {row[0]: row[1] for row in rows}

"""eventsource-py loading an aggregate through its `AggregateRepository` (Python >= 3.13).

Run by _pg_load.py with the interpreter of eventsource-py's venv (see
_pg_peer_eventsource.py), once per step; it imports nothing from the kit or
the other benchmark modules, so the aggregate's events are rebuilt here from
the same formula as _pg_common.payload and _pg_load_common.aggregate_events.

Usage: python _pg_peer_eventsource_load.py SPEC_JSON, with ``{"dsn",
"schema", "scenario", ...}``; prints a JSON object. Scenarios:
``append`` (untimed: saves versions ``first`` to ``first + count - 1`` of
aggregate ``aggregate_id`` in saves of ``save_size``; prints the balance)
and ``load`` (``loads`` loads after one untimed warm-up load, with the
snapshot store when ``snapshots``; prints ``{"seconds": ...}``).

It is used as its documentation shows: a `DeclarativeAggregate` with
`@handles` methods and an immutable pydantic state (``model_copy``),
`AggregateRepository` on `PostgreSQLEventStore` (async SQLAlchemy engine on
asyncpg, ``create_schema=True``) and, for snapshots,
`PostgreSQLSnapshotStore` with ``snapshot_threshold`` (its table created from
its own DDL, ``get_schema("snapshots")``).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

from eventsource import (
    AggregateRepository,
    DeclarativeAggregate,
    DomainEvent,
    PostgreSQLEventStore,
    handles,
    register_event,
)
from eventsource.adapters.postgresql import PostgreSQLSnapshotStore
from eventsource.adapters.sql.schemas import get_schema
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

CATEGORY = "Account"


@register_event
class Opened(DomainEvent):
    amount: int
    currency: str
    reference: str


@register_event
class Deposited(DomainEvent):
    amount: int
    currency: str
    reference: str


class AccountState(BaseModel):
    balance: int = 0


class Account(DeclarativeAggregate[AccountState]):
    aggregate_type = CATEGORY

    def _get_initial_state(self) -> AccountState:
        return AccountState()

    def record_event(self, version: int) -> None:
        """Record version `version` of the benchmark's aggregate (_pg_common.payload)."""
        correlation = uuid.UUID(int=version + 1)
        cls = Opened if version == 1 else Deposited
        self.apply_event(
            cls(
                aggregate_id=self.aggregate_id,
                aggregate_type=CATEGORY,
                aggregate_version=self.get_next_version(),
                amount=100 + version % 997,
                currency="EUR",
                reference=f"invoice-{version:08d}",
                correlation_id=correlation,
                causation_id=correlation,
            )
        )

    @handles(Opened)
    def _on_opened(self, event: Opened) -> None:
        self._state = AccountState(balance=event.amount)

    @handles(Deposited)
    def _on_deposited(self, event: Deposited) -> None:
        self._state = self.state.model_copy(update={"balance": self.state.balance + event.amount})


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    url = spec["dsn"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(
        url,
        pool_size=1,
        max_overflow=0,
        connect_args={"server_settings": {"search_path": spec["schema"]}},
    )
    store = PostgreSQLEventStore(engine, create_schema=True, owns_engine=True)
    snapshots = PostgreSQLSnapshotStore(async_sessionmaker(engine, expire_on_commit=False))
    aggregate_id = uuid.UUID(spec["aggregate_id"])
    try:
        if spec["scenario"] == "append":
            async with engine.begin() as conn:
                raw = await conn.get_raw_connection()
                assert raw.driver_connection is not None
                await raw.driver_connection.execute(get_schema("snapshots"))
            repository = AggregateRepository(
                store, Account, snapshot_store=snapshots, snapshot_threshold=spec["every"]
            )
            first, count, size = spec["first"], spec["count"], spec["save_size"]
            account = Account(aggregate_id) if first == 1 else await repository.load(aggregate_id)
            for start in range(first, first + count, size):
                for version in range(start, min(start + size, first + count)):
                    account.record_event(version)
                await repository.save(account)
            return {"balance": account.state.balance, "version": account.version}
        if spec["scenario"] == "load":
            repository = (
                AggregateRepository(store, Account, snapshot_store=snapshots)
                if spec["snapshots"]
                else AggregateRepository(store, Account)
            )
            warm = await repository.load(aggregate_id)
            assert warm.version == spec["version"], (warm.version, spec["version"])
            started = time.perf_counter()
            for _ in range(spec["loads"]):
                await repository.load(aggregate_id)
            return {"seconds": time.perf_counter() - started}
        raise ValueError(f"unknown scenario {spec['scenario']!r}")
    finally:
        await store.close()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.loads(sys.argv[1])))))

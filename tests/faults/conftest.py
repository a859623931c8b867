"""Fixtures of the fault tests: a private PostgreSQL cluster, and stores on it.

The cluster is started once per session and only for the tests that ask for
it; each test gets a schema of its own, and a fault proxy in front of the
cluster when it asks for one (the plugin's `store_factory` pointed
at the cluster would do too, but its server is the shared one).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from cluster import Cluster, find_binaries, start_cluster
from proxy import FaultProxy

from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    binaries = find_binaries()
    if binaries is None:
        pytest.skip("no initdb/pg_ctl on this machine for a private PostgreSQL cluster")
    started = start_cluster(binaries)
    try:
        yield started
    finally:
        started.remove()


@pytest.fixture
async def schema(cluster: Cluster) -> AsyncIterator[str]:
    import asyncpg

    name = "faults_" + secrets.token_hex(5)
    yield name
    try:
        connection = await asyncpg.connect(cluster.dsn)
    except (OSError, asyncpg.PostgresError):
        return  # the test left the server stopped: nothing to drop
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(name)} CASCADE")
    finally:
        await connection.close()


@pytest.fixture
async def pg_store(cluster: Cluster, schema: str) -> AsyncIterator[PostgresEventStore]:
    store = await PostgresEventStore.open(cluster.dsn, schema=schema, migrate=True)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def proxy(cluster: Cluster) -> AsyncIterator[FaultProxy]:
    """A fault proxy in front of the private cluster."""
    proxy = FaultProxy(cluster.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


@pytest.fixture
async def proxied_store(proxy: FaultProxy, schema: str) -> AsyncIterator[PostgresEventStore]:
    """A store on the private cluster, through the fault proxy."""
    store = await PostgresEventStore.open(proxy.dsn(), schema=schema, migrate=True)
    try:
        yield store
    finally:
        await store.close()

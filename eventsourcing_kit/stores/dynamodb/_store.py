"""`DynamoDBEventStore`: the core `EventStore` on the DynamoDB driver (``dynamodb://``)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores.driver import EventStore
from eventsourcing_kit.stores.dynamodb._client import (
    Calls,
    Credentials,
    RetryPolicy,
    open_clients,
)
from eventsourcing_kit.stores.dynamodb._driver import DriverOptions, DynamoDBDriver
from eventsourcing_kit.stores.dynamodb._location import Location, location_from_url
from eventsourcing_kit.stores.dynamodb._migrations import ensure_table
from eventsourcing_kit.stores.dynamodb._reindex import Reindexed, reindex

__all__ = ["DynamoDBEventStore"]


class DynamoDBEventStore(EventStore):
    """An event store in one DynamoDB table, its global order built from the table's stream.

    Open it with ``connect("dynamodb://table?endpoint_url=...&region=...")`` or
    `DynamoDBEventStore.open`. See docs/dynamodb.md.
    """

    _driver: DynamoDBDriver

    def __init__(self, driver: DynamoDBDriver, location: Location) -> None:
        """Prefer `open`, which also creates the clients and starts the indexer."""
        super().__init__(driver)
        self._location = location

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        migrate: bool = True,
        indexer: bool = True,
        lease_ttl: float = 10.0,
        poll_interval: float = 0.05,
        standby_poll: float = 1.0,
        shard_read_interval: float = 0.2,
        index_wait: float = 30.0,
        retry_attempts: int = 10,
        pool_size: int = 32,
        aws_access_key_id: str | None = None,
        aws_secret_access_key: str | None = None,
        aws_session_token: str | None = None,
        profile_name: str | None = None,
        session: Any = None,
    ) -> DynamoDBEventStore:
        """Open the store of the ``dynamodb://TABLE?endpoint_url=...&region=...`` URL.

        `migrate`: create the table when it is missing. `indexer`: run an
        indexer in this process (one of all the processes' indexers is
        active at a time, by lease; appends wait for theirs to be indexed,
        so at least one process must run one). `lease_ttl`: seconds an
        indexer that stopped answering keeps the lease. `poll_interval`:
        seconds between the active indexer's reads of an idle stream, and
        between a waiting reader's checks. `standby_poll`: seconds between a
        standby indexer's looks at the lease. `shard_read_interval`: the
        least seconds between two reads of one stream shard (AWS allows five
        a second per shard; 0 for DynamoDB Local, which has no such limit).
        `index_wait`: seconds an append or a reader waits for an event to be
        indexed before failing with `TransientStoreError`. `retry_attempts`:
        attempts of a throttled or conflicting request. Credentials: the
        standard AWS chain, unless given. `session`: an ``aioboto3.Session``
        to make the clients from instead of a new one (with its own
        credentials, so give none of the options above with it): a process
        that opens many stores shares one, since each new session loads
        botocore's service models again.
        """
        location = location_from_url(url)
        _check_seconds(
            lease_ttl=lease_ttl,
            poll_interval=poll_interval,
            standby_poll=standby_poll,
            index_wait=index_wait,
        )
        if (
            isinstance(shard_read_interval, bool)
            or not isinstance(shard_read_interval, int | float)
            or not shard_read_interval >= 0
        ):
            raise ConfigurationError(
                f"invalid shard_read_interval {shard_read_interval!r}: pass seconds, 0 or more"
            )
        for name, value in (("retry_attempts", retry_attempts), ("pool_size", pool_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"invalid {name} {value!r}: pass a positive int")
        credentials = Credentials(
            aws_access_key_id=aws_access_key_id,
            aws_secret_access_key=aws_secret_access_key,
            aws_session_token=aws_session_token,
            profile_name=profile_name,
        )
        options = DriverOptions(
            indexer=bool(indexer),
            lease_ttl=lease_ttl,
            poll_interval=poll_interval,
            standby_poll=standby_poll,
            shard_read_interval=float(shard_read_interval),
            index_wait=index_wait,
        )
        stack = AsyncExitStack()
        try:
            dynamodb, streams = await open_clients(
                stack, location, credentials, pool_size=pool_size, session=session
            )
            calls = Calls(dynamodb, streams, location, RetryPolicy(attempts=retry_attempts))
            if migrate:
                await ensure_table(calls)
        except BaseException:
            await stack.aclose()
            raise
        driver = DynamoDBDriver(calls, stack, options)
        driver.start()
        return cls(driver, location)

    def __repr__(self) -> str:
        return f"<DynamoDBEventStore {self._location.url()!r}{' closed' if self._closed else ''}>"

    @property
    def table(self) -> str:
        """The store's table."""
        return self._location.table

    async def reindex(self, *, lease_ttl: float = 10.0) -> Reindexed:
        """Index every stored event the indexer never saw: after an outage of every
        indexer longer than the stream's 24-hour retention.

        Scans the whole table for events without a global position and gives
        them positions after the current watermark, each stream in version
        order, streams interleaved by the time their events were recorded.
        Holds the indexer's lease meanwhile (taken over from a running
        indexer, which stands by and resumes afterwards). See docs/dynamodb.md.
        """
        self._check_open()
        _check_seconds(lease_ttl=lease_ttl)
        return await reindex(self._driver.calls, lease_ttl=lease_ttl)

    @property
    def url(self) -> str:
        """The ``dynamodb://`` URL of the store's table (no credentials)."""
        return self._location.url()


def _check_seconds(**values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise ConfigurationError(f"invalid {name} {value!r}: pass a positive number of seconds")

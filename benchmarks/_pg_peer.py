"""The peer: pyeventsourcing 9.x on PostgreSQL (psycopg 3, binary build).

It is used as its documentation shows: an `Application` configured by
environment settings (``PERSISTENCE_MODULE=eventsourcing.postgres``,
``POSTGRES_*``), aggregates whose methods trigger events, `app.save()`.
Its API is synchronous, so the concurrent scenario runs 16 threads. Its
defaults are kept (JSON transcoder on the standard library's json; table lock
per insert, ``POSTGRES_ENABLE_DB_FUNCTIONS`` off).

Each function sets up outside the clock and returns the seconds the workload
took. The clock includes calling the aggregate's command method, which builds
the event object: that is how a pyeventsourcing user records an event.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
from _pg_common import Event, dsn
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

PAGE = 500
"""Notifications per `select_notifications` call, the kit's default page size."""


class Account(Aggregate):
    """An aggregate whose every event carries the benchmark's payload."""

    @event("Opened")
    def __init__(self, amount: int, currency: str, reference: str) -> None:
        self.balance = amount

    @event("Deposited")
    def deposit(self, amount: int, currency: str, reference: str) -> None:
        self.balance += amount


class Bank(Application[Any]):
    pass


def psycopg_implementation() -> str:
    """'binary' or 'c' (compiled) or 'python' (pure, much slower)."""
    return str(psycopg.pq.__impl__)


def open_app(schema: str, *, pool_size: int) -> Bank:
    """A `Bank` writing to `schema` (which must exist), its pool already filled."""
    url = urlsplit(dsn())
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": url.path.lstrip("/"),
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": url.username or "postgres",
        "POSTGRES_PASSWORD": url.password or "",
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "0",
    }
    app = Bank(env=env)
    # The pool opens its connections in the background: wait for all of them.
    app.factory.datastore.pool.wait(timeout=30)  # type: ignore[attr-defined]
    return app


def _apply(accounts: dict[str, Account], e: Event) -> Account:
    """Record `e` on its aggregate: create it (first event) or call its command."""
    d = e.data
    if e.version == 1:
        account = Account(d["amount"], d["currency"], d["reference"])
        accounts[e.stream_id] = account
    else:
        account = accounts[e.stream_id]
        account.deposit(d["amount"], d["currency"], d["reference"])
    return account


def single(app: Bank, plan: Sequence[Event]) -> float:
    """One new event per save, round-robin over the plan's aggregates."""
    accounts: dict[str, Account] = {}
    start = time.perf_counter()
    for e in plan:
        app.save(_apply(accounts, e))
    return time.perf_counter() - start


def batches(app: Bank, plan: Sequence[Sequence[Event]]) -> float:
    """A new aggregate with `len(batch)` events, saved at once."""
    start = time.perf_counter()
    for batch in plan:
        accounts: dict[str, Account] = {}
        for e in batch:
            account = _apply(accounts, e)
        app.save(account)
    return time.perf_counter() - start


def concurrent(app: Bank, plans: Sequence[Sequence[Event]]) -> float:
    """One thread per plan, each saving its own aggregate event by event."""
    barrier = threading.Barrier(len(plans) + 1)
    errors: list[BaseException] = []

    def write(events: Sequence[Event]) -> None:
        accounts: dict[str, Account] = {}
        barrier.wait()
        try:
            for e in events:
                app.save(_apply(accounts, e))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=write, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed


def seed(app: Bank, plan: Sequence[Sequence[Event]]) -> None:
    batches(app, plan)


def read(app: Bank, expected: int) -> float:
    """Page through the notification log and decode each event's JSON state.

    `select_notifications` is what its notification log and its process
    applications read with; `transcoder.decode` is its JSON decoding of the
    stored state, the counterpart of the kit's decoded `data`.
    """
    recorder = app.recorder
    decode = app.mapper.transcoder.decode
    decoded = []
    start = time.perf_counter()
    after = 0
    while True:
        page = recorder.select_notifications(after, PAGE, inclusive_of_start=False)
        decoded.extend((n.id, n.originator_id, n.originator_version, decode(n.state)) for n in page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    elapsed = time.perf_counter() - start
    assert len(decoded) == expected, (len(decoded), expected)
    return elapsed

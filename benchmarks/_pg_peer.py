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
`single`, `batches`, `seed` and `read` also drive its SQLite module
(_sqlite_peers.py); there, no server CPU is counted.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import psycopg
from _pg_common import Event, Stopwatch, Timing, dsn, warmup_plan
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


def open_app(schema: str, *, pool_size: int, app_class: type[Bank] = Bank) -> Bank:
    """An `app_class` writing to `schema` (which must exist), its pool already filled."""
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
    # libpq reads the application_name of new connections from PGAPPNAME:
    # it lets the Stopwatch find the backends serving this run.
    os.environ["PGAPPNAME"] = schema
    app = app_class(env=env)
    # The pool opens its connections in the background: wait for all of them.
    app.factory.datastore.pool.wait(timeout=30)  # type: ignore[attr-defined]
    return app


def _name(app: Bank) -> str | None:
    """The schema, which its connections carry as application_name; None on SQLite."""
    schema = getattr(app.factory.datastore, "schema", None)  # type: ignore[attr-defined]
    return None if schema is None else str(schema)


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


def single(app: Bank, plan: Sequence[Event]) -> Timing:
    """One new event per save, round-robin over the plan's aggregates."""
    accounts: dict[str, Account] = {}
    for e in warmup_plan(2):
        app.save(_apply({}, e))
    watch = Stopwatch(_name(app))
    for e in plan:
        app.save(_apply(accounts, e))
    return watch.stop()


def batches(app: Bank, plan: Sequence[Sequence[Event]]) -> Timing:
    """A new aggregate with `len(batch)` events, saved at once."""
    for e in warmup_plan(2):
        app.save(_apply({}, e))
    watch = Stopwatch(_name(app))
    for batch in plan:
        accounts: dict[str, Account] = {}
        for e in batch:
            account = _apply(accounts, e)
        app.save(account)
    return watch.stop()


def concurrent(app: Bank, plans: Sequence[Sequence[Event]]) -> Timing:
    """One thread per plan, each saving its own aggregate event by event."""
    warm = threading.Barrier(len(plans) + 1)
    barrier = threading.Barrier(len(plans) + 1)
    errors: list[BaseException] = []

    def write(events: Sequence[Event], warmup: Event) -> None:
        accounts: dict[str, Account] = {}
        app.save(_apply({}, warmup))  # every pool connection used once, untimed
        warm.wait()
        barrier.wait()
        try:
            for e in events:
                app.save(_apply(accounts, e))
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=write, args=(p, w))
        for p, w in zip(plans, warmup_plan(len(plans)), strict=True)
    ]
    for t in threads:
        t.start()
    warm.wait()
    watch = Stopwatch(_name(app))
    barrier.wait()
    for t in threads:
        t.join()
    elapsed = watch.stop()
    if errors:
        raise errors[0]
    return elapsed


def seed(app: Bank, plan: Sequence[Sequence[Event]]) -> None:
    for batch in plan:
        accounts: dict[str, Account] = {}
        for e in batch:
            account = _apply(accounts, e)
        app.save(account)


def read(app: Bank, expected: int) -> Timing:
    """Page through the notification log and decode each event's JSON state.

    `select_notifications` is what its notification log and its process
    applications read with; `transcoder.decode` is its JSON decoding of the
    stored state, the counterpart of the kit's decoded `data`.
    """
    recorder = app.recorder
    decode = app.mapper.transcoder.decode
    decoded = []
    watch = Stopwatch(_name(app))
    after = 0
    while True:
        page = recorder.select_notifications(after, PAGE, inclusive_of_start=False)
        decoded.extend((n.id, n.originator_id, n.originator_version, decode(n.state)) for n in page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    elapsed = watch.stop()
    assert len(decoded) == expected, (len(decoded), expected)
    return elapsed

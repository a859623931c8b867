"""`connect`, `subscribe` and consumer groups take typed options: mypy catches a typo."""

from __future__ import annotations

import inspect
import textwrap
import typing
from pathlib import Path

import pytest

from eventsourcing_kit import ConnectOptions, Subscription, SubscriptionOptions, subscribe
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.stores.sqlite import SQLiteEventStore

ROOT = Path(__file__).resolve().parents[2]

APP = textwrap.dedent(
    """
    from eventsourcing_kit import EventStore, RecordedEvent, connect, consumer_group, subscribe


    async def handle(event: RecordedEvent) -> None:
        pass


    async def main(store: EventStore) -> None:
        await connect("sqlite:///app.db", busy_timeout=1.0, synchronous="FULL")
        await connect("postgresql://u@h/db", schema="app", notify="off", min_size=2)
        subscribe(store, "fine", handle, category="Account", retry=None)
        consumer_group(store, "fine", handle, size=2, category="Account")
        await connect("sqlite:///app.db", busy_timout=1.0)  # line 13
        await connect("postgresql://u@h/db", notify="sometimes")  # line 14
        subscribe(store, "typo", handle, catagory="Account")  # line 15
        consumer_group(store, "typo", handle, size=2, catagory="Account")  # line 16
    """
).lstrip()


def _kw_only(function: object) -> dict[str, inspect.Parameter]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return {p.name: p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


@pytest.mark.slow
def test_mypy_catches_a_misspelt_or_mistyped_option(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    app = tmp_path / "app.py"
    app.write_text(APP, encoding="utf-8")
    # The project's own cache: a fresh one would re-check the whole kit.
    out, err, status = api.run(
        [str(app), "--strict", "--cache-dir", str(ROOT / ".mypy_cache"), "--no-error-summary"]
    )
    assert status == 1, out + err
    flagged = sorted({int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line})
    assert flagged == [13, 14, 15, 16], out
    assert '"busy_timout"' in out and '"catagory"' in out


def test_connect_options_are_the_options_of_the_backends() -> None:
    backends = (
        _kw_only(SQLiteEventStore.open)
        | _kw_only(PostgresEventStore.open)
        | _kw_only(DynamoDBEventStore.open)
    )
    assert set(ConnectOptions.__annotations__) == set(backends)


def test_the_notify_choices_of_connect_are_those_of_the_postgres_store() -> None:
    hints = typing.get_type_hints(ConnectOptions)
    store_hints = typing.get_type_hints(PostgresEventStore.open)
    assert typing.get_args(hints["notify"]) == typing.get_args(store_hints["notify"])


def test_subscribe_takes_the_options_of_subscription_with_the_same_defaults() -> None:
    mine = {name: p.default for name, p in _kw_only(subscribe).items()}
    theirs = {name: p.default for name, p in _kw_only(Subscription.__init__).items()}
    assert mine == theirs


def test_a_consumer_group_passes_on_every_option_of_subscription_but_its_partition() -> None:
    assert set(SubscriptionOptions.__annotations__) == set(_kw_only(Subscription.__init__)) - {
        "partition"
    }

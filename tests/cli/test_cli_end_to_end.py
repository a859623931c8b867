"""The ``eventsourcing-kit`` command, run as operators run it: a process of its own.

Each command runs as a subprocess against a store this test seeded, on
SQLite and on PostgreSQL, with stdout a pipe (plain lines) or ``--json``.
Kept few: each process pays the interpreter's start.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from eventsourcing_kit import EventStore, NewEvent, connect
from eventsourcing_kit.subscriptions import RetryPolicy, list_parked, subscribe
from eventsourcing_kit.testing import StoreFactory

CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"
BACKENDS = pytest.mark.parametrize("store_backend", ["sqlite", "postgres"])
GUARD_S = 30.0


def _env(url: str | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "EVENTSOURCING_KIT_URL")
    }
    if url is not None:
        env["EVENTSOURCING_KIT_URL"] = url
    return env


def cli(
    *arguments: str, url: str | None = None, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the command; with `check`, fail the test (showing stderr) unless it exits 0."""
    done = subprocess.run(
        [CLI, *arguments],
        capture_output=True,
        text=True,
        env=_env(url),
        cwd=cwd,
        timeout=GUARD_S,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done


def json_lines(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines()]


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The error a failed command printed: exactly one line, no traceback."""
    assert done.returncode == 1, done.stdout
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("eventsourcing-kit: error: ")
    return lines[0]


async def seed(store: EventStore) -> None:
    """Two categories, metadata, and a subscription that parked an event."""
    await store.append_events(
        "Account-1",
        [
            NewEvent("Opened", {"owner": "Zoë", "limits": [1, 2.5, None]}, {"correlation_id": "c"}),
            NewEvent("Deposited", {"amount": 5}),
        ],
        expected_version=0,
    )
    await store.append_events("Cart-7", [NewEvent("Created", {"items": []})], expected_version=0)
    await store.append_events("Account-1", [NewEvent("Withdrawn", {"amount": 2})])

    async def handler(event: Any) -> None:
        if event.event_type == "Withdrawn":
            raise RuntimeError("mail server down")

    emails = subscribe(store, "emails", handler, on_error="park", retry=RetryPolicy(max_retries=0))
    async with emails:
        async with asyncio.timeout(GUARD_S):
            while (await emails.status()).lag or not await emails.parked():  # noqa: ASYNC110
                await asyncio.sleep(0.02)


async def contents(store: EventStore) -> list[tuple[Any, ...]]:
    """What a store holds, in its global order, without timestamps or positions."""
    return [
        (e.stream_id, e.version, e.event_type, e.event_id, dict(e.data), dict(e.metadata))
        async for e in store.read_all()
    ]


@pytest.fixture
async def seeded(store: EventStore, store_factory: StoreFactory) -> str:
    """The URL of a seeded store (`store` stays open beside the commands)."""
    await seed(store)
    return store_factory.url(store)


# --- reading ----------------------------------------------------------------------------


@BACKENDS
async def test_streams_lists_each_stream_with_its_version(seeded: str) -> None:
    by_category = cli("streams", "--category", "Cart", "--json", url=seeded)  # URL from env
    assert json_lines(by_category.stdout) == [
        {"stream_id": "Cart-7", "category": "Cart", "version": 1}
    ]


@BACKENDS
async def test_show_prints_a_stream_from_a_version(seeded: str) -> None:
    shown = json_lines(cli("show", "Account-1", "--from-version", "2", "--json", url=seeded).stdout)
    assert [(e["version"], e["event_type"], e["data"]) for e in shown] == [
        (2, "Deposited", {"amount": 5}),
        (3, "Withdrawn", {"amount": 2}),
    ]


@BACKENDS
async def test_show_names_an_unknown_stream_in_one_line(seeded: str) -> None:
    line = one_error_line(cli("show", "Account-404", url=seeded, check=False))
    assert "stream 'Account-404' not found" in line


@BACKENDS
async def test_tail_prints_events_appended_while_it_follows(seeded: str, store: EventStore) -> None:
    process = await asyncio.create_subprocess_exec(
        *(CLI, "tail", "--url", seeded, "--json", "--limit", "1", "--poll", "0.1"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(),
    )
    assert process.stderr is not None
    ready = await asyncio.wait_for(process.stderr.readline(), GUARD_S)
    assert ready.startswith(b"following "), ready
    await store.append_events("Cart-7", [NewEvent("Emptied", {})])
    out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode == 0, err
    [event] = json_lines(out.decode())
    assert (event["stream_id"], event["version"], event["event_type"]) == ("Cart-7", 2, "Emptied")


# --- subscriptions ------------------------------------------------------------------------


@BACKENDS
async def test_subscriptions_show_checkpoint_lag_and_parked_events(
    seeded: str, store: EventStore
) -> None:
    await store.append_events("Cart-7", [NewEvent("Emptied", {})])
    [emails] = json_lines(cli("subscriptions", "--json", url=seeded).stdout)
    checkpoint = await store.load_checkpoint("emails")
    assert emails == {
        "name": "emails",
        "state": "behind",
        "checkpoint": str(checkpoint),
        "lag": 1,
        "lag_exact": True,
        "parked": 1,
        "lease_holder": None,
    }


@BACKENDS
async def test_subscriptions_name_the_runner_that_holds_the_lease(
    seeded: str, store: EventStore
) -> None:
    async def ignore(event: object) -> None:
        pass

    async with subscribe(store, "emails", ignore, on_error="park"):
        for _ in range(100):
            [emails] = json_lines(cli("subscriptions", "--json", url=seeded).stdout)
            if emails["lease_holder"] is not None:
                break
            await asyncio.sleep(0.05)
    # The holder names this process: host, process id and a random part.
    assert f":{os.getpid()}:" in emails["lease_holder"]


@BACKENDS
async def test_reset_moves_the_checkpoint_to_the_start(seeded: str, store: EventStore) -> None:
    done = cli("reset", "emails", "--yes", "--json", url=seeded)
    assert json.loads(done.stdout)["checkpoint"] == "start"
    assert await store.load_checkpoint("emails") == store.start_position


@BACKENDS
async def test_replay_parked_hands_the_events_to_the_handler_given(
    seeded: str, store: EventStore, tmp_path: Path
) -> None:
    (tmp_path / "mailer.py").write_text(
        "async def send(event):\n    assert event.event_type == 'Withdrawn'\n", encoding="utf-8"
    )
    done = cli("replay-parked", "emails", "--handler", "mailer:send", url=seeded, cwd=tmp_path)
    assert done.stdout == "subscription 'emails': 1 replayed, 0 still parked\n"
    assert await list_parked(store, "emails") == []


# --- errors and the version ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///no/such/store.db", "no SQLite store at 'no/such/store.db'"),
        pytest.param(
            "postgresql://postgres@127.0.0.1:1/test",
            "cannot connect to PostgreSQL",
            marks=pytest.mark.postgres,
        ),
    ],
)
def test_a_bad_url_is_one_line_and_status_1(url: str, says: str) -> None:
    assert says in one_error_line(cli("streams", "--url", url, check=False))


def test_version_prints_the_installed_version() -> None:
    from importlib.metadata import version

    assert cli("--version").stdout == f"eventsourcing-kit {version('eventsourcing-kit')}\n"


# --- export and import --------------------------------------------------------------------


@pytest.mark.postgres
async def test_an_export_from_sqlite_imports_into_postgres_identical(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    source = await store_factory.open("sqlite")
    await seed(source)
    await source.append_events(
        "Odd-'; DROP TABLE events; --", [NewEvent("Ünïcode", {"nested": {"a": [{"b": 1.5}]}})]
    )
    target = await store_factory.open("postgres")
    dump = tmp_path / "store.jsonl"

    exported = cli("export", "--output", str(dump), "--json", url=store_factory.url(source))
    imported = cli("import", str(dump), "--json", url=store_factory.url(target))

    summary = json.loads(exported.stdout)
    assert json.loads(imported.stdout) == {**summary, "verified": True}
    assert summary["events"] == len(await contents(source))
    assert await contents(target) == await contents(source)
    assert cli("import", str(dump), url=store_factory.url(target)).returncode == 0  # again: no-op
    assert await contents(target) == await contents(source)


async def test_an_export_piped_into_import_copies_a_store(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    source = await store_factory.open("sqlite")
    await seed(source)
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    process = await asyncio.create_subprocess_shell(
        f"{CLI} export | {CLI} import --url {copy}",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_env(store_factory.url(source)),
    )
    out, err = await asyncio.wait_for(process.communicate(), GUARD_S)
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith(f"imported {len(await contents(source))} events of 3 streams")
    async with connect(copy) as copied:
        assert await contents(copied) == await contents(source)

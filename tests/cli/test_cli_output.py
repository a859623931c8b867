"""The command line's output and messages, run in this process for speed.

`main(argv)` is what the installed command runs; here on a SQLite store
seeded once per test. The end-to-end tests (test_cli_end_to_end.py) run it
as a process on every backend.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from eventsourcing_kit import NewEvent, connect
from eventsourcing_kit.cli import main


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A seeded SQLite store's URL; stdout counts as piped, whatever runs the tests."""
    for variable in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR", "EVENTSOURCING_KIT_URL"):
        monkeypatch.delenv(variable, raising=False)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    async def seed() -> None:
        async with connect(store_url) as store:
            await store.append_events(
                "Account-1",
                [NewEvent("Opened", {"owner": "Zoë"}), NewEvent("Deposited", {"amount": 5})],
            )
            await store.append_events("Cart-7", [NewEvent("Created", {})])
            [first, *_] = [event.position async for event in store.read_all()]
            await store.save_checkpoint("reports", first)

    asyncio.run(seed())
    return store_url


def run(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> tuple[str, str]:
    assert main(list(argv)) == status, capsys.readouterr()
    captured = capsys.readouterr()
    return captured.out, captured.err


def error_line(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    out, err = run(capsys, *argv, status=1)
    assert out == ""
    [line] = err.splitlines()
    assert line.startswith("eventsourcing-kit: error: ")
    return line


# --- plain and terminal output ------------------------------------------------------------


def test_piped_streams_are_tab_separated_lines(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = run(capsys, "streams", "--url", url)
    assert out == "Account-1\tAccount\t2\nCart-7\tCart\t1\n"


def test_streams_in_a_terminal_are_a_table_with_totals(
    url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("NO_COLOR", "1")
    out, _ = run(capsys, "streams", "--url", url)
    assert "stream" in out.splitlines()[0]
    assert "version" in out.splitlines()[0]
    assert "2 streams, 3 events" in out


def test_piped_show_prints_pretty_json(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run(capsys, "show", "Account-1", "--limit", "1", "--url", url)
    assert '\n  "data": {\n    "owner": "Zoë"\n  },' in out
    assert json.loads(out)["event_type"] == "Opened"


def test_show_past_the_end_says_so_and_succeeds(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, err = run(capsys, "show", "Account-1", "--from-version", "9", "--url", url)
    assert (out, err) == ("", "stream 'Account-1' ends at version 2: nothing to show\n")


def test_piped_subscriptions_are_tab_separated_lines(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out, _ = run(capsys, "subscriptions", "--url", url)
    assert out == "reports\tbehind\t1\t2\t0\t-\n"


def test_tail_from_the_start_prints_the_log(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    out, err = run(capsys, "tail", "--from-start", "--type", "Opened", "--limit", "1", "--url", url)
    assert out == '1\tAccount-1\t1\tOpened\t{"owner":"Zoë"}\n'
    assert err.startswith("following sqlite:///")


# --- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["streams", "--url", "nosql://x"], "unknown store URL scheme 'nosql'"),
        (["streams"], "no store URL: pass --url URL or set EVENTSOURCING_KIT_URL"),
        (["streams", "--url", "memory://"], "memory:// lives inside one process"),
        (["streams", "--category", "a-b"], "invalid category 'a-b'"),
        (["tail", "--from-position", "soon"], "invalid position text 'soon'"),
        (["reset", "reports"], "pass --yes to confirm"),
        (["reset", "nobody", "--yes"], "subscription 'nobody' has no stored checkpoint"),
        (["replay-parked", "nobody", "--dry-run"], "no subscription named 'nobody'"),
        (["replay-parked", "reports", "--handler", "no_such_module:f"], "cannot import"),
        (["migrate", "--schema", "x"], "--schema is for PostgreSQL"),
    ],
)
def test_an_error_is_one_line(
    url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    says: str,
) -> None:
    if argv != ["streams"]:
        monkeypatch.setenv("EVENTSOURCING_KIT_URL", url)
    assert says in error_line(capsys, *argv)


def test_no_command_prints_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    out, _ = run(capsys)
    assert out.startswith("Usage: eventsourcing-kit [OPTIONS] COMMAND [ARGS]...")
    assert "tail" in out


def test_debug_adds_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    _, err = run(capsys, "streams", "--url", "nosql://x", "--debug", status=1)
    assert "Traceback (most recent call last)" in err
    assert err.splitlines()[-1].startswith("eventsourcing-kit: error: unknown store URL")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["replay-parked", "reports"], "give --handler MODULE:NAME"),
        (["streams", "--colour"], "--colour"),
        (["stream"], "'stream'"),
    ],
)
def test_a_usage_error_is_one_line_and_status_2(
    url: str, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    _, err = run(capsys, *argv, "--url", url, status=2)
    [line] = err.splitlines()
    assert line.startswith("eventsourcing-kit: error: ")
    assert says in line
    assert line.endswith("--help')")


# --- import's checks ------------------------------------------------------------------------


@pytest.fixture
def dump(url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "dump.jsonl"
    run(capsys, "export", "--url", url, "--output", str(path))
    return path


def test_import_refuses_a_truncated_file(
    dump: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = dump.read_text(encoding="utf-8").splitlines(keepends=True)
    dump.write_text("".join(lines[:-1]), encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert "ends without its footer" in error_line(capsys, "import", str(dump), "--url", target)


def test_import_refuses_a_damaged_file(
    dump: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dump.write_text(dump.read_text(encoding="utf-8").replace("Zoë", "Zoe"), encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert "does not match its footer" in error_line(capsys, "import", str(dump), "--url", target)


def test_import_refuses_a_file_that_is_not_an_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.jsonl"
    other.write_text('{"hello": 1}\n', encoding="utf-8")
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert "not an eventsourcing-kit export" in error_line(
        capsys, "import", str(other), "--url", target
    )


def test_import_refuses_streams_the_store_holds_otherwise(
    dump: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"

    async def occupy() -> None:
        async with connect(target) as store:
            await store.append_events("Cart-7", [NewEvent("Other", {})])

    asyncio.run(occupy())
    line = error_line(capsys, "import", str(dump), "--url", target)
    assert "stream 'Cart-7' is at version 1 in the store" in line


def test_import_reports_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert "No such file or directory" in error_line(
        capsys, "import", str(tmp_path / "none.jsonl"), "--url", target
    )

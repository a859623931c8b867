"""The kit is quiet until the application asks for its log lines.

Each test runs a fresh interpreter: whether structlog or the standard
library's logging was configured is process-wide state, and the test
process's own (pytest's capture, other tests' configuration) must not
decide the outcome.
"""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# A small application: appends, a load with a snapshot, a subscription. Every
# line the kit logs on the way is debug or info.
APP = """
import asyncio
import attrs
from eventsourcing_kit import Aggregate, NewEvent, Repository, connect, subscribe


@attrs.frozen
class Deposited:
    amount: int


@attrs.define
class Account(Aggregate):
    event_types = (Deposited,)
    balance: int = 0

    def apply(self, event: object) -> None:
        match event:
            case Deposited(amount=amount):
                self.balance += amount


async def main() -> None:
    async with connect("sqlite:///app.db") as store:
        accounts = Repository(Account, store, snapshot_every=2)
        account = Account()
        for amount in (1, 2, 3):
            account.record(Deposited(amount))
        await accounts.save(account)
        await accounts.update(account.id, lambda a: a.record(Deposited(4)))
        await store.append_events("Other-1", [NewEvent("Noted", {"n": 1})])
        seen = []

        async def handle(event: object) -> None:
            seen.append(event)

        async with subscribe(store, "counter", handle):
            while len(seen) < 5:
                await asyncio.sleep(0.01)
        print((await accounts.load(account.id)).balance)


asyncio.run(main())
"""


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _quickstart() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Quickstart", 1)[1]
    match = re.search(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    assert match is not None, "the README's Quickstart has no ```python block"
    return match.group(1)


def test_the_readme_quickstart_prints_its_own_output_and_nothing_else(tmp_path: Path) -> None:
    done = _run(_quickstart(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    uuid = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(
        f"15\n1 Account-{uuid} Deposited {{'amount': 10}}\n"
        f"2 Account-{uuid} Deposited {{'amount': 5}}\n",
        done.stdout,
    ), done.stdout


def test_an_application_that_configures_no_logging_prints_nothing_of_the_kit(
    tmp_path: Path,
) -> None:
    done = _run(APP, tmp_path)
    assert done.returncode == 0, done.stderr
    assert (done.stdout, done.stderr) == ("10\n", "")


def test_standard_logging_configured_by_the_application_gets_the_kit_lines(
    tmp_path: Path,
) -> None:
    configure = "import logging, sys\nlogging.basicConfig(level=logging.DEBUG, stream=sys.stderr)\n"
    done = _run(configure + APP, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "10\n"
    assert "DEBUG:eventsourcing_kit.stores._store:appended stream_id='Account-" in done.stderr
    assert (
        "INFO:eventsourcing_kit.subscriptions._subscription:subscription started "
        "subscription_id='counter'" in done.stderr
    )
    assert "DEBUG:eventsourcing_kit.repository:snapshot taken" in done.stderr


def test_standard_logging_at_warning_keeps_the_kit_quiet(tmp_path: Path) -> None:
    configure = "import logging\nlogging.basicConfig(level=logging.WARNING)\n"
    done = _run(configure + APP, tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "10\n", "")


def test_structlog_configured_by_the_application_gets_the_kit_lines(tmp_path: Path) -> None:
    configure = textwrap.dedent(
        """
        import logging, sys, structlog
        structlog.configure(
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
            logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        )
        """
    )
    done = _run(configure + APP, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "10\n"
    assert '"event": "subscription started"' in done.stderr
    assert '"subscription_id": "counter"' in done.stderr
    assert '"appended"' not in done.stderr  # debug, filtered out by the application's level


def test_warnings_reach_stderr_without_any_configuration(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        from eventsourcing_kit._logging import get_logger
        get_logger("eventsourcing_kit.example").bind(stream_id="S-1").warning("it broke", n=2)
        get_logger("eventsourcing_kit.example").info("not shown")
        """
    )
    done = _run(code, tmp_path)
    assert (done.stdout, done.stderr) == ("", "it broke stream_id='S-1' n=2\n")

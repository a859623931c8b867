"""Getting started works as written: its script prints what the page shows, on both backends.

The page's ```python block is also run by test_docs_code.py; these tests add
what a reader checks by eye: the output, and the PostgreSQL step, which runs
the same file with only BANK_URL set.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from postgres_support import drop_schema, new_schema_name

from eventsourcing_kit.stores.postgres import split_schema

PAGE = Path(__file__).resolve().parents[2] / "docs" / "getting-started.md"
TEXT = PAGE.read_text(encoding="utf-8")
SCRIPT = re.search(r"^```python\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)
STREAM_ID = re.compile(r"Account-[0-9a-f-]{36}")


def _run_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert SCRIPT is not None, "getting-started.md lost its ```python block"
    monkeypatch.chdir(tmp_path)
    exec(compile(SCRIPT.group(1), str(PAGE), "exec"), {"__name__": "__main__"})


def _printed_by_the_page(after: str) -> list[str]:
    # The lines the page shows after `$ python bank.py` in the section `after`.
    section = TEXT[TEXT.index(after) :]
    block = section[section.index("$ python bank.py\n") + len("$ python bank.py\n") :]
    return block.splitlines()[:3]


def _masked(lines: list[str]) -> list[str]:
    return [STREAM_ID.sub("Account-<id>", line) for line in lines]


def test_the_script_prints_what_the_page_shows_on_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BANK_URL", raising=False)
    _run_script(tmp_path, monkeypatch)
    printed = capsys.readouterr().out.splitlines()
    assert _masked(printed) == _masked(_printed_by_the_page("## 3. Run it on SQLite"))
    assert (tmp_path / "bank.db").exists()


@pytest.mark.postgres
def test_the_same_script_runs_on_postgresql_with_only_the_url_changed(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    schema = new_schema_name()
    base = split_schema(postgres_dsn)[0]
    monkeypatch.setenv("BANK_URL", f"{base}{'&' if '?' in base else '?'}schema={schema}")
    try:
        _run_script(tmp_path, monkeypatch)
    finally:
        asyncio.run(drop_schema(postgres_dsn, schema))
    printed = capsys.readouterr().out.splitlines()
    assert _masked(printed) == _masked(_printed_by_the_page("## 5. The same on PostgreSQL"))
    assert not (tmp_path / "bank.db").exists()

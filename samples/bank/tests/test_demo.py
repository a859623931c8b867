"""`make demo` tells its story and exits 0 on the embedded SQLite store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from samples.bank import demo


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # The demo configures structlog as an application does; undo it for the
    # tests that run after this one.
    yield
    structlog.reset_defaults()


def test_the_demo_runs_on_a_sqlite_file_and_tells_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bank.db"
    assert demo.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert path.exists()
    assert "hit a ConcurrencyError and was re-run on fresh state" in out
    assert "no update lost: 2103.50 at v4" in out
    assert "the snapshot is at v5" in out
    assert "is refused" in out
    assert "1 transfer credited, 1 refunded to Alice" in out
    assert "the read model handles only the 3 new events (not the 17 before)" in out
    assert "Alice  2108.50 (v8), read model  2108.50" in out
    assert "Bob     280.00 (v11), read model   280.00" in out

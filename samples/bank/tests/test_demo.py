"""`make demo` tells its story and exits 0 on the embedded SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog

from samples.bank import demo


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
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
    assert "hit a ConcurrencyError and was retried" in out
    assert "no update lost: balance 2103.50 at v4" in out
    assert "snapshot at v5" in out
    assert "was refused" in out
    assert "Balances: Alice 2078.50 (v5), Bob 305.00 (v9)" in out

"""`make demo SAMPLE=orders` tells its story and exits 0 on the embedded SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from samples.orders import demo


def test_the_demo_runs_on_a_sqlite_file_and_tells_what_happened(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "orders.db"
    assert demo.main([str(path)]) == 0
    out = capsys.readouterr().out
    assert path.exists()
    assert "Ann orders 4 apple and 2 pear: confirmed. One atomic append wrote" in out
    assert "Bob orders 2 pear: rejected (cannot reserve 2 x pear: 1 available)" in out
    assert "her reservation is released (5 of 5 plum available)" in out
    assert "1 append hit a ConcurrencyError on the apple stock and wrote nothing" in out
    assert "2 apple left" in out
    assert "0 new decisions" in out
    assert "StockReserved   Stock-" in out and "caused by OrderPlaced of Order-" in out
    assert "apple  board  2 available of 10, aggregate  2 of 10" in out
    assert "Cleo  3 plum             cancelled" in out

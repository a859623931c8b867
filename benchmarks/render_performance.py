"""Render docs/performance.md and its plots from the scale benchmarks' results files.

    .venv/bin/python benchmarks/render_performance.py

Reads results/growth_postgres.json, growth_sqlite.json, concurrency_curve.json,
catch_up.json, memory.json, hot_aggregate.json, takeover.json and peers.json
(whichever are there) and the hand-written _performance_intro.md and
_performance_findings.md, writes docs/performance.md and the plots under
docs/images/. Never edit those by hand: rerun a benchmark, then
this. Needs matplotlib (the ``bench`` extra).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import _performance_plots as plots
import _performance_tables as tables
from _performance_common import HERE, PAGE, RESULTS
from _performance_targets import targets_section


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def render() -> pathlib.Path:
    files = {
        name: _load(f"{name}.json")
        for name in (
            "growth_postgres",
            "growth_sqlite",
            "concurrency_curve",
            "catch_up",
            "memory",
            "hot_aggregate",
            "takeover",
            "peers",
        )
    }
    header = (HERE / "_performance_intro.md").read_text().rstrip("\n").splitlines()
    lines = [
        *header,
        "",
        *tables.machine_section([r for r in files.values() if r is not None]),
        *targets_section(files),
        *(HERE / "_performance_findings.md").read_text().rstrip("\n").splitlines(),
        "",
        *plots.growth_section(files["growth_postgres"], "PostgreSQL", "growth_postgres.py"),
        *plots.growth_section(files["growth_sqlite"], "SQLite", "growth_sqlite.py"),
        *plots.concurrency_section(files["concurrency_curve"]),
        *tables.catch_up_section(files["catch_up"]),
        *tables.memory_section(files["memory"]),
        *tables.hot_section(files["hot_aggregate"]),
        *tables.takeover_section(files["takeover"]),
        *tables.peers_section(files["peers"]),
    ]
    PAGE.write_text("\n".join(lines).rstrip("\n") + "\n")
    return PAGE


if __name__ == "__main__":
    print(f"wrote {render()}")

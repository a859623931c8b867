"""What the performance page's renderers share: paths, labels, the context line.

render_performance.py writes docs/performance.md from the results files;
_performance_plots.py renders its sections with plots, _performance_tables.py
the others, _performance_targets.py issue 15's targets.
"""

from __future__ import annotations

import pathlib
from typing import Any

HERE = pathlib.Path(__file__).parent
RESULTS = HERE / "results"
DOCS = HERE.parent / "docs"
IMAGES = DOCS / "images"
PAGE = DOCS / "performance.md"
COLORS = {
    "kit": "#1f77b4",
    "raw": "#ff7f0e",
    "floor": "#7f7f7f",
    "kit_no_group_commit": "#2ca02c",
    "kit_notify_off": "#9467bd",
}
OPS = {
    "single": "one-event append",
    "batch100": "100-event append",
    "read_new": "read a new 100-event stream",
    "read_old": "read an old 10-event stream",
}


def context_line(results: dict[str, Any]) -> str:
    git = results.get("git") or {}
    commit = git.get("commit", "unknown") + (
        " plus uncommitted changes" if git.get("dirty") else ""
    )
    before = " ".join(f"{x:.2f}" for x in results["load_average_before"])
    after = " ".join(f"{x:.2f}" for x in results["load_average_after"])
    return (
        f"*Recorded {results['date']}, commit {commit}; load average {before} before, "
        f"{after} after.*"
    )


def command(script: str) -> str:
    return f"```bash\n.venv/bin/python benchmarks/{script}\n```"


# --- growth ----------------------------------------------------------------------


def ratio_cell(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"

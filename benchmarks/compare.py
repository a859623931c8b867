"""Two versions of the kit side by side, in one run: a baseline revision against this tree.

    .venv/bin/python benchmarks/compare.py --baseline REV            # full, about 4 minutes
    .venv/bin/python benchmarks/compare.py --baseline REV --quick    # smoke test, seconds
    .venv/bin/python benchmarks/compare.py --baseline REV --current REV2 --only single

Checks REV out into a temporary worktree (``git worktree add --detach``,
removed afterwards) and runs the PostgreSQL scenarios against the baseline
tree and the current tree (this working tree, or ``--current REV2`` checked
out the same way) alternately, A B B A: each round a subprocess per tree
(_compare_worker.py) whose PYTHONPATH points at that tree, so each imports
its own ``eventsourcing_kit`` while both run this tree's benchmark code. For
each scenario it reports the kit / raw ratio of both trees and the current
tree's ratio over the baseline's. ``raw`` is the benchmark's own SQL, the
same for both, so dividing by it takes out the drift of a shared machine
between rounds. The trees take turns going first (baseline first in odd
rounds, current first in even ones): the second worker of a round finds
the server warmer than the first did, and a fixed order would credit that
to one tree. Each round's current / baseline ratio is kept too, so the
spread of that ratio across rounds shows how far a single round can be
trusted.

Writes results/compare.json and results/compare.md (``--quick``: to the
temporary directory; quick figures are no results).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import _context as context
import _pg_common as common
import _pg_scenarios as scenarios
import attrs
import render_results

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "compare.json"
ROLES = ("baseline", "current")

# Full mode: 3 repetitions in each of 4 rounds per tree, 12 per system in all:
# short enough to run before every merge on a 2-core machine shared with the
# server. The rounds, more than the repetitions, spread each tree's runs
# over the time the machine's load drifts in.
FULL = attrs.evolve(common.Sizes.full(), repetitions=3)
FULL_ROUNDS = 4
QUICK = common.Sizes(
    repetitions=1,
    single_appends=60,
    single_streams=20,
    batches=3,
    batch_size=100,
    events_per_writer=5,
    read_events=1000,
)


def _resolve(rev: str) -> str:
    try:
        return context.git(ROOT, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise SystemExit(f"compare.py: {rev!r} names no commit in {ROOT}") from None


@contextmanager
def checked_out(rev: str) -> Iterator[pathlib.Path]:
    """`rev` in a temporary detached worktree, removed (and unregistered) afterwards."""
    parent = pathlib.Path(tempfile.mkdtemp(prefix="eventsourcing-kit-compare-"))
    path = parent / "tree"
    context.git(ROOT, "worktree", "add", "--detach", "--quiet", str(path), _resolve(rev))
    try:
        yield path
    finally:
        removed = subprocess.run(
            ["git", "worktree", "remove", "--force", str(path)],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(parent, ignore_errors=True)
        if removed.returncode != 0:  # the directory is gone now: drop its registration
            subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


def run_round(
    tree: pathlib.Path, sizes: common.Sizes, only: list[str], output: pathlib.Path
) -> dict[str, Any]:
    """One worker subprocess on `tree`'s package; its medians."""
    command = [
        sys.executable,
        str(HERE / "_compare_worker.py"),
        "--tree",
        str(tree),
        "--sizes",
        json.dumps(attrs.asdict(sizes)),
        "--output",
        str(output),
    ]
    for scenario in only:
        command += ["--scenario", scenario]
    # PYTHONPATH comes before site-packages, where the editable install of
    # this tree lives: the worker imports `tree`'s package (and checks it did).
    env = {**os.environ, "PYTHONPATH": str(tree)}
    if subprocess.run(command, env=env, check=False).returncode != 0:
        raise SystemExit(f"compare.py: the worker on {tree} failed (its output is above)")
    medians: dict[str, Any] = json.loads(output.read_text())["medians"]
    return medians


def pooled(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """One system's repetitions from every round of a tree, as one summary."""
    rates = [rate for summary in summaries for rate in summary["runs"]]
    median = statistics.median(rates)
    out: dict[str, Any] = {
        "events": summaries[0]["events"],
        "median": round(median, 1),
        "min": min(rates),
        "max": max(rates),
        "spread_pct": round(100 * (max(rates) - min(rates)) / median, 1),
        "runs": rates,
        "client_cpu_us_per_event": statistics.median(
            s["client_cpu_us_per_event"] for s in summaries
        ),
    }
    servers = [s.get("server_cpu_us_per_event") for s in summaries]
    if all(server is not None for server in servers):
        out["server_cpu_us_per_event"] = statistics.median(servers)
    return out


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Scenario -> each tree's pooled raw and kit, their ratio, and current / baseline."""
    out: dict[str, Any] = {}
    for scenario in rounds[0]["medians"]:
        entry: dict[str, Any] = {}
        for role in ROLES:
            mine = [r["medians"][scenario] for r in rounds if r["tree"] == role]
            raw, kit = pooled([m["raw"] for m in mine]), pooled([m["kit"] for m in mine])
            entry[role] = {"raw": raw, "kit": kit, "kit_vs_raw": kit["median"] / raw["median"]}
        ratio = entry["current"]["kit_vs_raw"] / entry["baseline"]["kit_vs_raw"]
        for role in ROLES:
            entry[role]["kit_vs_raw"] = round(entry[role]["kit_vs_raw"], 3)
        entry["current_vs_baseline"] = round(ratio, 3)
        per_round = round_ratios(rounds, scenario)
        entry["current_vs_baseline_by_round"] = per_round
        entry["current_vs_baseline_round_median"] = round(statistics.median(per_round), 3)
        out[scenario] = entry
    return out


def round_ratios(rounds: list[dict[str, Any]], scenario: str) -> list[float]:
    """Each round's current / baseline kit-vs-raw ratio for `scenario`, in round order."""

    def kit_vs_raw(medians: dict[str, Any]) -> float:
        entry = medians[scenario]
        return float(entry["kit"]["median"] / entry["raw"]["median"])

    ratios = []
    for number in sorted({r["round"] for r in rounds}):
        both = {r["tree"]: r["medians"] for r in rounds if r["round"] == number}
        ratios.append(round(kit_vs_raw(both["current"]) / kit_vs_raw(both["baseline"]), 3))
    return ratios


def round_order(number: int) -> tuple[str, ...]:
    """Which tree goes first in round `number` (from 1): A B, then B A, and so on."""
    return ROLES if number % 2 else tuple(reversed(ROLES))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--current", help="git revision to compare (default: this working tree)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round: smoke test")
    parser.add_argument("--rounds", type=int, help="rounds (default 4; 1 with --quick)")
    parser.add_argument("--only", action="append", choices=scenarios.SCENARIOS, default=[])
    parser.add_argument("--output", type=pathlib.Path, help="results JSON path")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    rounds = args.rounds or (1 if args.quick else FULL_ROUNDS)
    quick_output = pathlib.Path(tempfile.gettempdir()) / "compare_quick.json"
    output = args.output or (quick_output if args.quick else RESULTS)
    load_before = context.load_average()
    started = time.perf_counter()
    with ExitStack() as stack, tempfile.TemporaryDirectory() as scratch:
        trees = {"baseline": stack.enter_context(checked_out(args.baseline))}
        labels = {"baseline": args.baseline, "current": args.current or "working tree"}
        trees["current"] = stack.enter_context(checked_out(args.current)) if args.current else ROOT
        unknown = {"commit": None, "dirty": False}
        # Both trees run this tree's benchmark code: only their kit differs.
        revisions = {
            role: context.git_revision(trees[role], context.PACKAGE) or unknown for role in ROLES
        }
        results: list[dict[str, Any]] = []
        for number in range(1, rounds + 1):
            for role in round_order(number):
                print(f"round {number}/{rounds}: {role} ({labels[role]})", flush=True)
                medians = run_round(
                    trees[role], sizes, args.only, pathlib.Path(scratch) / f"{role}{number}.json"
                )
                results.append({"round": number, "tree": role, "medians": medians})
    summary = {
        "benchmark": "compare",
        "date": context.now(),
        "git": context.git_revision(ROOT),
        "quick": args.quick,
        "duration_s": round(time.perf_counter() - started, 1),
        "load_average_before": load_before,
        "load_average_after": context.load_average(),
        "machine": context.machine(("asyncpg", "orjson", "attrs", "structlog")),
        "server": asyncio.run(context.server(common.dsn())),
        "sizes": {**attrs.asdict(sizes), "writers": common.WRITERS},
        "rounds": rounds,
        "trees": {role: {"label": labels[role], **revisions[role]} for role in ROLES},
        "unit": "events per second (median of every repetition of every round)",
        "scenarios": summarize(results),
        "round_medians": results,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    markdown = render_results.render(output)
    print(markdown.read_text())
    print(f"results in {output} and {markdown}")


if __name__ == "__main__":
    main()

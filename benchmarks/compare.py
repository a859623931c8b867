"""Two versions of the kit side by side, in one run: a baseline revision against this tree.

    .venv/bin/python benchmarks/compare.py --baseline REV            # full, about 9 minutes
    .venv/bin/python benchmarks/compare.py --baseline REV --quick    # smoke test, seconds
    .venv/bin/python benchmarks/compare.py --baseline REV --current REV2 --only single

Checks REV out into a temporary worktree (``git worktree add --detach``,
removed afterwards) and starts three workers (_compare_worker.py) that stay
up for the whole run: ``raw``, the benchmark's own SQL, and the kit of each
tree, in a process whose PYTHONPATH points at that tree (this working tree,
or ``--current REV2`` checked out the same way), so that each imports its
own ``eventsourcing_kit`` while all run this tree's benchmark code. The
workers then take turns: in each cycle, every scenario is measured once by
each of them, one at a time, in an order that goes through all six orders
of the three, so none is favoured by going first or by following another.

A measurement of one tree's kit is thus never more than seconds from one of
the other's, and from one of raw's. Earlier versions ran each tree for a
whole round (about half a minute, all scenarios) in a process that measured
raw too; the machine's drift between rounds then moved single rounds' ratios
far either way, and raw ran consistently faster in the current tree's
processes than in the baseline's, which lowered the current tree's kit / raw
ratio. With one raw worker, both trees are divided by the same raw figures.

For each scenario: each tree's kit / raw ratio (medians over every cycle),
current / baseline (their quotient, which is the quotient of the two kits'
medians), and the spread of the latter: each cycle's current / baseline and
a 90 % bootstrap interval of their median.

Writes results/compare.json and results/compare.md (``--quick``: to the
temporary directory; quick figures are no results).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import pathlib
import random
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
WORKERS = ("raw", *ROLES)
ORDERS = list(itertools.permutations(WORKERS))

# Full mode: 72 cycles, twelve times through the six orders, about nine
# minutes on a 2-core machine shared with the server. With the two trees the
# same, a quarter as many cycles still moved current / baseline further from
# 1 than the 5 % a change is judged by (README: the same code on both sides).
FULL = common.Sizes.full()
FULL_CYCLES = 72
QUICK_CYCLES = 2
QUICK = common.Sizes(
    repetitions=1,
    single_appends=60,
    single_streams=20,
    batches=3,
    batch_size=100,
    events_per_writer=5,
    read_events=1000,
)
BOOTSTRAP = 2000  # resamples for the interval of the median


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


class Worker:
    """One `_compare_worker.py` process: one system, on one tree's package."""

    def __init__(self, name: str, tree: pathlib.Path, system: str, sizes: common.Sizes) -> None:
        self.name = name
        command = [
            sys.executable,
            str(HERE / "_compare_worker.py"),
            "--tree",
            str(tree),
            "--system",
            system,
            "--sizes",
            json.dumps(attrs.asdict(sizes)),
        ]
        # PYTHONPATH comes before site-packages, where the editable install of
        # this tree lives: the worker imports `tree`'s package (and checks it did).
        env = {**os.environ, "PYTHONPATH": str(tree)}
        self._process = subprocess.Popen(
            command, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def measure(self, scenario: str) -> dict[str, Any]:
        """One measurement of `scenario`: events, seconds, client_cpu, server_cpu."""
        process = self._process
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(scenario + "\n")
        process.stdin.flush()
        reply = process.stdout.readline()
        if not reply:
            raise SystemExit(f"compare.py: the {self.name} worker failed (its output is above)")
        timing: dict[str, Any] = json.loads(reply)
        return timing

    def close(self) -> None:
        """End the worker (its read schema is dropped as it exits)."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()


def cycle_order(number: int) -> tuple[str, ...]:
    """The workers' turns in cycle `number` (from 0): each of the six orders in turn.

    Over six cycles every worker goes first, second and third twice, and
    follows each of the others equally often.
    """
    return ORDERS[number % len(ORDERS)]


def _timing(reply: dict[str, Any]) -> common.Timing:
    return common.Timing(
        seconds=reply["seconds"], client_cpu=reply["client_cpu"], server_cpu=reply["server_cpu"]
    )


def summarize(measured: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    """Scenario -> raw, each tree's kit and kit / raw, current / baseline and its spread."""
    out: dict[str, Any] = {}
    for scenario, by_worker in measured.items():
        events = by_worker["raw"][0]["events"]
        raw = common.summarize(events, [_timing(r) for r in by_worker["raw"]])
        entry: dict[str, Any] = {"raw": raw}
        for role in ROLES:
            kit = common.summarize(events, [_timing(r) for r in by_worker[role]])
            entry[role] = {"kit": kit, "kit_vs_raw": round(kit["median"] / raw["median"], 3)}
        ratio = entry["current"]["kit"]["median"] / entry["baseline"]["kit"]["median"]
        entry["current_vs_baseline"] = round(ratio, 3)
        by_cycle = [
            round(old["seconds"] / new["seconds"], 3)
            for old, new in zip(by_worker["baseline"], by_worker["current"], strict=True)
        ]
        entry["current_vs_baseline_by_cycle"] = by_cycle
        entry["current_vs_baseline_cycle_median"] = round(statistics.median(by_cycle), 3)
        entry["current_vs_baseline_interval_90"] = interval_90(by_cycle)
        out[scenario] = entry
    return out


def interval_90(ratios: list[float]) -> list[float]:
    """A 90 % bootstrap interval of the median of `ratios` (seeded: reproducible)."""
    draw = random.Random(0)
    medians = sorted(
        statistics.median(draw.choices(ratios, k=len(ratios))) for _ in range(BOOTSTRAP)
    )
    return [round(medians[BOOTSTRAP // 20], 3), round(medians[BOOTSTRAP - 1 - BOOTSTRAP // 20], 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="git revision to compare against")
    parser.add_argument("--current", help="git revision to compare (default: this working tree)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, two cycles: smoke test")
    parser.add_argument(
        "--cycles", type=int, help=f"cycles (default {FULL_CYCLES}; {QUICK_CYCLES} with --quick)"
    )
    parser.add_argument("--only", action="append", choices=scenarios.SCENARIOS, default=[])
    parser.add_argument("--output", type=pathlib.Path, help="results JSON path")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    cycles = args.cycles or (QUICK_CYCLES if args.quick else FULL_CYCLES)
    chosen = args.only or list(scenarios.SCENARIOS)
    quick_output = pathlib.Path(tempfile.gettempdir()) / "compare_quick.json"
    output = args.output or (quick_output if args.quick else RESULTS)
    load_before = context.load_average()
    started = time.perf_counter()
    measured: dict[str, dict[str, list[dict[str, Any]]]] = {
        scenario: {name: [] for name in WORKERS} for scenario in chosen
    }
    with ExitStack() as stack:
        trees = {"baseline": stack.enter_context(checked_out(args.baseline))}
        labels = {"baseline": args.baseline, "current": args.current or "working tree"}
        trees["current"] = stack.enter_context(checked_out(args.current)) if args.current else ROOT
        unknown = {"commit": None, "dirty": False}
        # All three run this tree's benchmark code: only the two kits differ.
        revisions = {
            role: context.git_revision(trees[role], context.PACKAGE) or unknown for role in ROLES
        }
        workers = {
            "raw": Worker("raw", ROOT, "raw", sizes),
            **{role: Worker(role, trees[role], "kit", sizes) for role in ROLES},
        }
        for worker in workers.values():
            stack.callback(worker.close)
        for number in range(cycles):
            for scenario in chosen:
                for name in cycle_order(number):
                    measured[scenario][name].append(workers[name].measure(scenario))
            print(f"cycle {number + 1}/{cycles} done", flush=True)
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
        "cycles": cycles,
        "trees": {role: {"label": labels[role], **revisions[role]} for role in ROLES},
        "unit": "events per second (median over every cycle)",
        "scenarios": summarize(measured),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(summary, indent=2) + "\n")
    markdown = render_results.render(output)
    print(markdown.read_text())
    print(f"results in {output} and {markdown}")


if __name__ == "__main__":
    main()

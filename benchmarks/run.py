"""Run every benchmark in turn: what `make bench` calls.

Each script writes its own results file under benchmarks/results/ (see
benchmarks/README.md). `--quick` is passed on: small sizes, to check the
harnesses; their figures go to the temporary directory, never to results/.
compare.py is not run here: it needs a baseline revision to compare with.
`--scale` runs the scale benchmarks of docs/performance.md instead (about an
hour) and renders that page from their results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

BENCHMARKS = [
    "sqlite_bench.py",
    "postgres_bench.py",
    "subscription_latency.py",
    "dynamodb_bench.py",
]
SCALE = [
    "growth_postgres.py",
    "growth_sqlite.py",
    "concurrency_curve.py",
    "catch_up.py",
    "memory.py",
    "hot_aggregate.py",
    "takeover.py",
]
"""Performance at scale (docs/performance.md): about an hour in all, so only
with --scale, which runs them instead of BENCHMARKS and renders the page."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check the harnesses")
    parser.add_argument("--scale", action="store_true", help="the scale benchmarks instead")
    parser.add_argument("--only", choices=BENCHMARKS + SCALE, help="run just this script")
    arguments = parser.parse_args()
    failed = []
    scripts = SCALE if arguments.scale or arguments.only in SCALE else BENCHMARKS
    for script in scripts:
        if arguments.only and script != arguments.only:
            continue
        command = [sys.executable, str(HERE / script)]
        if arguments.quick:
            command.append("--quick")
        print(f"--- {script}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(script)
    if scripts is SCALE and not arguments.quick and not failed:
        subprocess.run([sys.executable, str(HERE / "render_performance.py")], check=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run every benchmark in turn: what `make bench` calls.

Each script writes its own results file under benchmarks/results/ (see
benchmarks/README.md). `--quick` is passed on: small sizes, to check the
harnesses; their figures go to the temporary directory, never to results/.
compare.py is not run here: it needs a baseline revision to compare with.
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check the harnesses")
    parser.add_argument("--only", choices=BENCHMARKS, help="run just this script")
    arguments = parser.parse_args()
    failed = []
    for script in BENCHMARKS:
        if arguments.only and script != arguments.only:
            continue
        command = [sys.executable, str(HERE / script)]
        if arguments.quick:
            command.append("--quick")
        print(f"--- {script}", flush=True)
        if subprocess.run(command, check=False).returncode != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

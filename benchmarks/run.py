"""Run every benchmark in turn: what `make bench` calls.

Each script writes its own results file under benchmarks/results/ (see
benchmarks/README.md). `--quick` is passed on to the scripts that take it:
small sizes, to check the harnesses; their figures are not results.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, takes --quick)
BENCHMARKS = [
    ("sqlite_bench.py", True),
    ("postgres_bench.py", True),
    ("subscription_latency.py", True),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: check the harnesses")
    parser.add_argument("--only", help="run just this script, e.g. sqlite_bench.py")
    arguments = parser.parse_args()
    failed = []
    for script, takes_quick in BENCHMARKS:
        if arguments.only and script != arguments.only:
            continue
        command = [sys.executable, str(HERE / script)]
        if arguments.quick:
            if not takes_quick:
                print(f"--- {script}: skipped under --quick", flush=True)
                continue
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

"""One round of compare.py: the raw reference and the kit, on one tree's package.

    PYTHONPATH=TREE python benchmarks/_compare_worker.py --tree TREE \
        --sizes JSON --scenario single ... --output FILE

compare.py starts it once per tree and round, with PYTHONPATH pointing at
that tree, so that ``import eventsourcing_kit`` finds the tree's package and
not the one installed in the virtual environment; it refuses to run when
that is not so. Writes the medians of this round (`_pg_scenarios.measure`
with only ``raw`` and ``kit``) as JSON to FILE.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import sys

import _pg_common as common
import _pg_scenarios as scenarios
import structlog

import eventsourcing_kit


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=pathlib.Path, required=True)
    parser.add_argument("--sizes", required=True, help="common.Sizes fields as JSON")
    parser.add_argument("--scenario", action="append", choices=scenarios.SCENARIOS)
    parser.add_argument("--output", type=pathlib.Path, required=True)
    args = parser.parse_args()
    package = pathlib.Path(eventsourcing_kit.__file__).resolve()
    if not package.is_relative_to(args.tree.resolve()):
        print(f"eventsourcing_kit came from {package}, not from {args.tree}", file=sys.stderr)
        return 2
    # The store logs its migrations at info level: keep the output readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    medians = asyncio.run(
        scenarios.measure(
            common.Sizes(**json.loads(args.sizes)),
            scenarios=args.scenario or scenarios.SCENARIOS,
            systems={"raw", "kit"},
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    )
    args.output.write_text(json.dumps({"package": str(package), "medians": medians}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

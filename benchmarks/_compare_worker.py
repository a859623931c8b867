"""One system of compare.py, kept running: measures on request, one at a time.

    PYTHONPATH=TREE python benchmarks/_compare_worker.py --tree TREE \
        --system kit --sizes JSON

compare.py starts three of these and keeps them for the whole run: ``raw``
(the benchmark's own SQL) and ``kit`` twice, once with PYTHONPATH pointing
at each tree, so that ``import eventsourcing_kit`` finds that tree's package
and not the one installed in the virtual environment (the worker refuses to
run when that is not so). Each line on stdin names a scenario; the worker
runs one measurement of its system in that scenario and answers with one
line of JSON on stdout (`common.Timing`), then waits for the next. Only one
worker measures at a time, so the three take turns on the machine within
seconds of each other. The read scenario's events are seeded on its first
request (and read once, untimed, to warm the caches) and kept until stdin
closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import sys
from contextlib import AsyncExitStack
from typing import Any, TextIO

import _pg_common as common
import _pg_scenarios as scenarios
import attrs
import structlog

import eventsourcing_kit


async def serve(system: str, sizes: common.Sizes, replies: TextIO) -> None:
    """Answer each scenario named on stdin with one measurement, until EOF."""
    writes = scenarios.write_runs(sizes)
    async with AsyncExitStack() as stack:
        read: scenarios.Run | None = None
        while line := await asyncio.to_thread(sys.stdin.readline):
            scenario = line.strip()
            if scenario == "read":
                if read is None:
                    runs = await scenarios.seed_read_runs(stack, sizes, {system}.__contains__)
                    read = runs[system]
                    await read()
                events, timing = sizes.read_events, await read()
            else:
                events, run = writes[scenario][system]
                timing = await run()
            reply: dict[str, Any] = {"events": events, **attrs.asdict(timing)}
            replies.write(json.dumps(reply) + "\n")
            replies.flush()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", type=pathlib.Path, required=True)
    parser.add_argument("--system", choices=("raw", "kit"), required=True)
    parser.add_argument("--sizes", required=True, help="common.Sizes fields as JSON")
    args = parser.parse_args()
    package = pathlib.Path(eventsourcing_kit.__file__).resolve()
    if not package.is_relative_to(args.tree.resolve()):
        print(f"eventsourcing_kit came from {package}, not from {args.tree}", file=sys.stderr)
        return 2
    # The store logs its migrations at info level: keep the output readable.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    # stdout carries the replies alone: anything else printed goes to stderr.
    replies, sys.stdout = sys.stdout, sys.stderr
    asyncio.run(serve(args.system, common.Sizes(**json.loads(args.sizes)), replies))
    return 0


if __name__ == "__main__":
    sys.exit(main())

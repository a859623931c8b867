"""Hot aggregate: 32 writers updating one aggregate, against 32 on distinct ones.

    .venv/bin/python benchmarks/hot_aggregate.py                 # PostgreSQL and SQLite
    .venv/bin/python benchmarks/hot_aggregate.py --quick         # tiny, results to $TMPDIR
    .venv/bin/python benchmarks/hot_aggregate.py --backends sqlite

Each writer is a task running COMMANDS `update`s in a row (a deposit each),
with the repository's defaults (concurrent updates of one aggregate queued
and saved up to 32 to an append, retry on `ConcurrencyError` with jittered
backoff for up to 10 s, a snapshot every 100 events). ``hot``: all 32 update
one aggregate; ``distinct``: writer i updates aggregate i; ``serial``, the
ceiling of one aggregate without contention: one writer runs all 32 writers'
commands on one aggregate, one after the other. Repetitions rotate the
modes, each on fresh aggregates. Reported: successful
commands per second, command runs per successful command minus one (the
retries), commands per append (the batches the queue formed), and every
command that did not complete (none may).

PostgreSQL: a schema of its own (pool of 33 connections: one per writer,
plus the NOTIFY's), dropped afterwards. SQLite: a file in a temporary
directory. Writes results/hot_aggregate.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import secrets
import statistics
import tempfile
import time
from typing import Any, cast

import _context as context
import _pg_common as common
import _scale_common as scale
import structlog
from _scale_domain import Counter

from eventsourcing_kit import EventStore, Repository, connect

WRITERS = 32
MODES = ("hot", "distinct", "serial")


class _CountingAppends:
    """The store, counting the appends made through it."""

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self.appends = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append_events(self, *args: Any, **kwargs: Any) -> Any:
        self.appends += 1
        return await self._store.append_events(*args, **kwargs)


async def _round(
    repository: Repository[Counter], counting: _CountingAppends, mode: str, commands: int
) -> dict[str, float | int]:
    """One repetition of `mode`: WRITERS tasks of `commands` updates each."""
    ids = []
    for _ in range(WRITERS if mode == "distinct" else 1):
        counter = Counter()
        counter.deposit(0)
        await repository.save(counter)
        ids.append(counter.id)
    runs = [0] * WRITERS
    failures: list[str] = []
    writers = 1 if mode == "serial" else WRITERS
    per_writer = commands * WRITERS // writers

    async def writer(w: int) -> None:
        target = ids[0] if mode != "distinct" else ids[w]

        def command(counter: Counter) -> None:
            runs[w] += 1
            counter.deposit(w)

        for _ in range(per_writer):
            try:
                await repository.update(target, command)
            except Exception as error:
                failures.append(repr(error))

    appends_before = counting.appends
    started = time.perf_counter()
    await asyncio.gather(*(writer(w) for w in range(writers)))
    elapsed = time.perf_counter() - started
    appends = counting.appends - appends_before
    done = WRITERS * commands - len(failures)
    final = [await repository.load(i) for i in ids]
    return {
        "seconds": elapsed,
        "commands_per_s": done / elapsed,
        "retries_per_command": (sum(runs) - WRITERS * commands) / (WRITERS * commands),
        "commands_per_append": done / max(1, appends),
        "completed": done,
        "failed": len(failures),
        "first_failure": failures[0] if failures else "",
        "events_stored": sum(c.deposits for c in final) - len(final),
    }


async def run_backend(url: str, options: dict[str, Any], repetitions: int, commands: int) -> Any:
    store: EventStore
    async with connect(url, **options) as store:
        counting = _CountingAppends(store)
        repository = Repository(Counter, cast(EventStore, counting))
        # Untimed warm-up: connections opened, statements prepared.
        await _round(repository, counting, "distinct", 2)
        rounds: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for rep in range(repetitions):
            k = rep % len(MODES)
            order = MODES[k:] + MODES[:k]
            for mode in order:
                rounds[mode].append(await _round(repository, counting, mode, commands))
                last = rounds[mode][-1]
                print(
                    f"  {mode}: {last['commands_per_s']:.0f} commands/s, "
                    f"{last['retries_per_command']:.2f} retries/command, "
                    f"{last['commands_per_append']:.1f} commands/append, {last['failed']} failed",
                    flush=True,
                )
    summary: dict[str, Any] = {}
    for mode, runs in rounds.items():
        summary[mode] = {
            "commands_per_s_median": round(statistics.median(r["commands_per_s"] for r in runs), 1),
            "retries_per_command_median": round(
                statistics.median(r["retries_per_command"] for r in runs), 3
            ),
            "commands_per_append_median": round(
                statistics.median(r["commands_per_append"] for r in runs), 2
            ),
            "commands": WRITERS * commands * len(runs),
            "completed": sum(r["completed"] for r in runs),
            "failed": sum(r["failed"] for r in runs),
            "events_stored_per_completed_command": round(
                sum(r["events_stored"] for r in runs) / max(1, sum(r["completed"] for r in runs)), 3
            ),
            "runs": [
                {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                for r in runs
            ],
        }
    summary["hot_vs_serial"] = round(
        summary["hot"]["commands_per_s_median"] / summary["serial"]["commands_per_s_median"], 3
    )
    summary["hot_vs_distinct"] = round(
        summary["hot"]["commands_per_s_median"] / summary["distinct"]["commands_per_s_median"], 3
    )
    return summary


async def drop_schema(schema: str) -> None:
    await common.drop_schema(schema)


async def main_async(backends: list[str], quick: bool) -> dict[str, Any]:
    repetitions, commands = (2, 3) if quick else (6, 10)
    results: dict[str, Any] = {}
    for backend in backends:
        print(f"{backend}...", flush=True)
        load = context.load_average()
        if backend == "postgres":
            schema = "bench_hot_" + secrets.token_hex(4)
            try:
                results[backend] = await run_backend(
                    common.dsn(),
                    {"schema": schema, "min_size": WRITERS + 1, "max_size": WRITERS + 1},
                    repetitions,
                    commands,
                )
            finally:
                await drop_schema(schema)
        else:
            with tempfile.TemporaryDirectory() as directory:
                path = pathlib.Path(directory) / "hot.db"
                results[backend] = await run_backend(f"sqlite:///{path}", {}, repetitions, commands)
        results[backend]["load_average_before_after"] = [load, context.load_average()]
    return {
        "writers": WRITERS,
        "commands_per_writer": commands,
        "repetitions": repetitions,
        "results": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    load_before = context.load_average()
    body = asyncio.run(main_async(args.backends.split(","), args.quick))
    scale.write_results(
        scale.output_path("hot_aggregate.json", quick=args.quick, explicit=args.output),
        benchmark="hot_aggregate",
        quick=args.quick,
        load_before=load_before,
        body={
            "repository": "Repository(Counter, store) defaults: queue_updates=True, "
            "update_batch_size=32, retry_for=10 s, backoff 5 ms base / 100 ms max with full "
            "jitter, snapshot_every=100",
            "commands_per_append": "completed commands per append of the round",
            "retries_per_command": "command runs per command minus one",
            **body,
        },
    )


if __name__ == "__main__":
    main()

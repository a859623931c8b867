"""Where the kit's time goes: profiles of its single-append and read_all paths.

    .venv/bin/python benchmarks/postgres_bench.py --profile

Runs each path once, warm, under pyinstrument (sampling, wall clock: time
waiting on the server shows up as the event loop's ``select``) and under
cProfile with a CPU clock (this process's CPU only, by function). Writes
``results/postgres_profile_{append,read}.txt``.
"""

from __future__ import annotations

import cProfile
import io
import pathlib
import pstats
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import _pg_common as common
import _pg_kit as kit

RESULTS = pathlib.Path(__file__).parent / "results"
APPENDS = 2000
READ_EVENTS = 20000


async def _profile(work: Callable[[], Awaitable[Any]], title: str) -> str:
    from pyinstrument import Profiler

    sampler = Profiler(interval=0.0002, async_mode="disabled")
    sampler.start()
    await work()
    sampler.stop()
    root = str(pathlib.Path(__file__).parent.parent) + "/"
    tree = sampler.output_text(unicode=True, color=False, show_all=False).replace(root, "")

    cpu = cProfile.Profile(time.process_time)
    cpu.enable()
    await work()
    cpu.disable()
    out = io.StringIO()
    pstats.Stats(cpu, stream=out).sort_stats("tottime").print_stats(25)
    # Short paths: the report is read on other machines.
    table = re.sub(r"/\S*/(site-packages|lib/python3\.\d+)/", "", out.getvalue())
    table = table.replace(root, "")
    return (
        f"# {title}\n\n## pyinstrument (wall clock, sampled)\n\n{tree}\n"
        f"## cProfile (this process's CPU, top 25 by own time; profiling inflates "
        f"call-heavy code)\n\n{table}"
    )


async def profile_append() -> str:
    plan = common.single_event_plan(APPENDS, 200, prefix="p")
    half = APPENDS // 2
    async with (
        common.fresh_schema("prof", create=False) as schema,
        kit.store_in(schema, pool_size=2) as store,
    ):
        first, second = plan[:half], plan[half:]
        runs = iter((first, second))

        async def work() -> None:
            await kit.single(store, next(runs))

        return await _profile(
            work,
            f"append_events: {half} single-event appends, exact expected version, "
            "default options (notify='coalesced', group_commit=True), the store's own pool of 2",
        )


async def profile_read() -> str:
    plan = common.batch_plan(READ_EVENTS // 100, 100, prefix="p")
    async with (
        common.fresh_schema("prof", create=False) as schema,
        kit.store_in(schema, pool_size=2) as store,
    ):
        await kit.seed(store, plan)
        await kit.read(store, READ_EVENTS)  # warm

        async def work() -> None:
            await kit.read(store, READ_EVENTS)

        return await _profile(
            work, f"read_all: {READ_EVENTS} events, default batch_size, fetch + decode"
        )


async def run() -> list[pathlib.Path]:
    RESULTS.mkdir(exist_ok=True)
    written = []
    for name, make in (("append", profile_append), ("read", profile_read)):
        path = RESULTS / f"postgres_profile_{name}.txt"
        path.write_text(await make())
        written.append(path)
    return written

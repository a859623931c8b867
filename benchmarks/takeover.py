"""Standby takeover: how long a standby runner takes to deliver after the active one is SIGKILLed.

    .venv/bin/python benchmarks/takeover.py             # PostgreSQL and SQLite, 6 runs each
    .venv/bin/python benchmarks/takeover.py --quick     # 1 run each, results to $TMPDIR

A leased subscription runs in a worker process (_takeover_worker.py) and
holds the lease; a standby of the same subscription runs here. Once the
standby is in STANDBY, the worker gets SIGKILL (no release: its lease must
expire) and the clock runs until the standby delivers (CATCHING_UP or
LIVE). With the default `LeasePolicy` (ttl 3 s, renewal every ttl/3,
standby poll every ttl/6) and with ttl 1 s. The documented bound,
``ttl + standby_poll`` from the dead runner's last renewal, is recorded
beside the figures; the kill lands up to `renew_every` after that renewal,
so takeover times are expected between ttl - renew_every and the bound.
Writes results/takeover.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import _context as context
import _pg_common as common
import _scale_common as scale
import structlog

from eventsourcing_kit import NewEvent, RecordedEvent, SubscriptionState, connect, subscribe
from eventsourcing_kit.subscriptions import LeasePolicy

WORKER = pathlib.Path(__file__).with_name("_takeover_worker.py")
DELIVERING = (SubscriptionState.CATCHING_UP, SubscriptionState.LIVE)
GUARD_S = 60.0


async def nothing(event: RecordedEvent) -> None:
    pass


async def _until(predicate: Any, timeout: float = GUARD_S, step: float = 0.005) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(step)


async def one_takeover(url: str, options: dict[str, Any], ttl: float | None) -> float:
    lease = LeasePolicy() if ttl is None else LeasePolicy(ttl=ttl)
    spec = {"url": url, "options": {**options, "migrate": False} if options else {}, "ttl": ttl}
    if "schema" not in options:
        spec["options"] = {}
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, str(WORKER), json.dumps(spec)], stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    async with connect(url, **options) as store:
        standby = subscribe(store, "takeover", nothing, lease=lease)
        try:
            line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), GUARD_S)
            assert line.decode().strip() == "active", line
            await standby.start()
            await _until(lambda: standby.state is SubscriptionState.STANDBY)
            # Land the kill at a random point of the renewal cycle.
            await asyncio.sleep(secrets.randbelow(1000) / 1000 * lease.renewal_interval)
            process.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            await _until(lambda: standby.state in DELIVERING, step=0.002)
            took = time.monotonic() - killed
        finally:
            await standby.stop()
            if process.poll() is None:
                process.kill()
            await asyncio.to_thread(process.wait, GUARD_S)
            process.stdout.close()
    return took


async def run_backend(url: str, options: dict[str, Any], runs: int) -> dict[str, Any]:
    async with connect(url, **options) as store:  # migrate once, with one event to deliver
        await store.append_events("Account-takeover", [NewEvent("Opened", {})])
    out: dict[str, Any] = {}
    for ttl in (None, 1.0):
        policy = LeasePolicy() if ttl is None else LeasePolicy(ttl=ttl)
        times = []
        for _ in range(runs):
            times.append(await one_takeover(url, options, ttl))
            print(f"  ttl {policy.ttl}: {times[-1]:.3f} s", flush=True)
        out[f"ttl_{policy.ttl:g}s"] = {
            "ttl_s": policy.ttl,
            "renew_every_s": round(policy.renewal_interval, 3),
            "standby_poll_s": round(policy.standby_interval, 3),
            "documented_bound_s": round(policy.takeover_bound, 3),
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
            "runs_s": [round(t, 3) for t in times],
            "within_bound": sum(t <= policy.takeover_bound for t in times),
        }
    return out


async def main_async(backends: list[str], runs: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for backend in backends:
        print(f"{backend}...", flush=True)
        if backend == "postgres":
            schema = "bench_takeover_" + secrets.token_hex(4)
            try:
                results[backend] = await run_backend(common.dsn(), {"schema": schema}, runs)
            finally:
                await common.drop_schema(schema)
        else:
            with tempfile.TemporaryDirectory() as directory:
                url = f"sqlite:///{pathlib.Path(directory) / 'takeover.db'}"
                results[backend] = await run_backend(url, {}, runs)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backends", default="postgres,sqlite")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    load_before = context.load_average()
    results = asyncio.run(main_async(args.backends.split(","), 1 if args.quick else args.runs))
    scale.write_results(
        scale.output_path("takeover.json", quick=args.quick, explicit=args.output),
        benchmark="takeover",
        quick=args.quick,
        load_before=load_before,
        body={
            "measured": "seconds from SIGKILL of the active runner's process to the standby "
            "delivering (CATCHING_UP or LIVE); the kill lands at a random point of the "
            "renewal cycle",
            "results": results,
        },
    )


if __name__ == "__main__":
    main()

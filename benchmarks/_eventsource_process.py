"""Running an eventsource-py worker in its own interpreter (Python >= 3.13).

eventsource-py needs a newer Python than the kit's venv, so its workloads
(_pg_peer_eventsource.py, _pg_peer_eventsource_load.py) run as subprocesses
of that venv's interpreter: one per step, handed a JSON spec, printing a
JSON object. A worker times itself, so its start-up stays outside the clock.
"""

from __future__ import annotations

import asyncio
import json
import pathlib
from typing import Any

from _pg_common import dsn


async def run_worker(
    python: pathlib.Path, worker: pathlib.Path, schema: str, spec: dict[str, Any]
) -> dict[str, Any]:
    """Run `worker` on `spec` (plus the DSN and `schema`); return what it printed."""
    process = await asyncio.create_subprocess_exec(
        str(python),
        str(worker),
        json.dumps({"dsn": dsn(), "schema": schema, **spec}),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"eventsource-py worker {worker.name} failed: {spec['scenario']}")
    return dict(json.loads(out))

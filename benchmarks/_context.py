"""What a results file records beside its figures: machine, server, code, load.

A ratio means little without the machine it ran on, the load around it and
the code it measured: every results file carries these.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import pathlib
import platform
import subprocess
from collections.abc import Iterable
from typing import Any

import asyncpg


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine(packages: Iterable[str]) -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "packages": package_versions(packages),
    }


def git(tree: pathlib.Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], capture_output=True, text=True, check=True, cwd=tree
    ).stdout.strip()


PACKAGE = ("eventsourcing_kit", "store")
"""The kit: the package and the SQL it applies."""
CODE = (*PACKAGE, "benchmarks", ":(exclude)benchmarks/results")
"""What a benchmark runs: the kit and the benchmark itself."""


def git_revision(tree: pathlib.Path, paths: Iterable[str] = CODE) -> dict[str, Any] | None:
    """The commit checked out in `tree`, and whether its code differs from it.

    A benchmark of changed code measures what no commit holds: say so. Only
    `paths` count, new files included; a results file rewritten by a run
    does not.
    """
    try:
        commit = git(tree, "rev-parse", "--short", "HEAD")
        dirty = bool(git(tree, "status", "--porcelain", "--", *paths))
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": dirty}


async def server(dsn: str) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        settings = {}
        for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
            settings[name] = await conn.fetchval("SELECT current_setting($1)", name)
        return {"version": await conn.fetchval("SHOW server_version"), "settings": settings}
    finally:
        await conn.close()

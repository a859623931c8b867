"""A private, throwaway PostgreSQL cluster for tests that kill backends or restart the server.

Never the shared server: these tests end connections and stop the server,
which would disturb everyone else's work. The cluster is made by initdb and
run by pg_ctl (from PATH or /usr/lib/postgresql/*/bin) on a free 127.0.0.1
port, with durability off; as root it runs as `postgres` (or `nobody`), since
initdb refuses root. Tests skip when the binaries are missing.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import attrs

__all__ = ["Cluster", "find_binaries", "start_cluster"]


def find_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, or None."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{folder}/initdb", os.X_OK) and os.access(f"{folder}/pg_ctl", os.X_OK):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _owner() -> str | None:
    if os.getuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    return None


@attrs.frozen
class Cluster:
    """A running private cluster: connect with `dsn`; `stop`, `start` and `remove` it."""

    binaries: Path
    folder: Path
    port: int
    owner: str | None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *command: str) -> None:
        prefix = [] if self.owner is None else ["runuser", "-u", self.owner, "--"]
        subprocess.run(
            [*prefix, *command], cwd=self.folder, check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        self.run(
            str(self.binaries / "pg_ctl"),
            "-D",
            str(self.folder / "data"),
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.folder} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off",
            "start",
        )

    def stop(self, *, mode: str = "fast") -> None:
        self.run(
            str(self.binaries / "pg_ctl"), "-D", str(self.folder / "data"), "-m", mode, "-w", "stop"
        )

    def remove(self) -> None:
        if (self.folder / "data" / "postmaster.pid").exists():
            self.stop(mode="immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def start_cluster(binaries: Path) -> Cluster:
    """initdb a cluster in a new temporary folder and start it."""
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="eventsourcing-kit-faults-"))
    if owner is not None:
        shutil.chown(folder, owner)
    cluster = Cluster(binaries, folder, _free_port(), owner)
    try:
        cluster.run(
            str(binaries / "initdb"),
            "-D",
            str(folder / "data"),
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        cluster.start()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster

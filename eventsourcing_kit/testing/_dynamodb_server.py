"""The DynamoDB of the store plugin: an emulator found or started, and its tables.

The endpoint is ``--eventsourcing-kit-dynamodb``, else env
``EVENTSOURCING_KIT_TEST_DYNAMODB``; with neither, DynamoDB Local is
installed if missing and started on a free port at the first test that
needs it, and stopped when the session ends. When that fails, the tests
that need it are skipped, or failed under CI.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import threading
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest

from eventsourcing_kit.testing._dynamodb_local import (
    ENDPOINT_ENV,
    EmulatorError,
    LocalEmulator,
    default_install_dir,
    install,
)
from eventsourcing_kit.testing._postgres_server import ci_is_set

__all__ = ["DYNAMODB_DEFAULTS", "REGION", "TABLE_PREFIX", "DynamoDBServer"]

TABLE_PREFIX = "eskit_test_"
REGION = "us-east-1"
DYNAMODB_DEFAULTS: dict[str, Any] = {
    # DynamoDB Local accepts any credentials but botocore insists on some.
    "aws_access_key_id": "local",
    "aws_secret_access_key": "local",
    # A store closed by a test hands its lease over at once; a standby that
    # looks often takes it over quickly (a test's second handle).
    "standby_poll": 0.05,
    "lease_ttl": 5.0,
    # DynamoDB Local does not limit reads of a stream shard as AWS does.
    "shard_read_interval": 0.0,
}
"""Options every DynamoDB store of the factory gets unless the test gives its own."""

_CREDENTIALS = ("aws_access_key_id", "aws_secret_access_key", "aws_session_token", "profile_name")


def _skip_or_fail(reason: str) -> NoReturn:
    if ci_is_set():
        pytest.fail(f"{reason} (CI is set: DynamoDB Local is required)", pytrace=False)
    pytest.skip(f"{reason} (install java and npm, or point {ENDPOINT_ENV} at an emulator)")


class DynamoDBServer:
    """The emulator of one test session: where it is, and the tables made on it."""

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self._emulator: LocalEmulator | None = None
        self._reason: str | None = None
        self._probed = False
        self._lock = threading.Lock()
        self._session: Any = None

    async def require(self) -> str:
        """The endpoint URL, once it is running; else skip, or fail under CI."""
        return await asyncio.to_thread(self.require_blocking)

    def require_blocking(self) -> str:
        """`require` for a plain fixture, where no event loop runs."""
        with self._lock:
            if self.endpoint is None and self._reason is None:
                try:
                    self._emulator = _start()
                    self.endpoint = self._emulator.endpoint_url
                except EmulatorError as error:
                    self._reason = str(error)
            elif self.endpoint is not None and not self._probed:
                self._probed = True
                if not _answers(self.endpoint):
                    self._reason = f"DynamoDB is unreachable at {self.endpoint}"
        if self._reason is not None or self.endpoint is None:
            _skip_or_fail(self._reason or "no DynamoDB endpoint")
        return self.endpoint

    def stop(self) -> None:
        """Stop the emulator this session started, if any."""
        emulator, self._emulator = self._emulator, None
        if emulator is not None:
            emulator.stop()

    def url(self, table: str) -> str:
        assert self.endpoint is not None
        return f"dynamodb://{table}?endpoint_url={self.endpoint}&region={REGION}"

    def new_table_name(self) -> str:
        return TABLE_PREFIX + secrets.token_hex(6)

    def store_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """`options` over `DYNAMODB_DEFAULTS`, for one store of the session.

        Stores get the session's one ``aioboto3.Session`` (with the
        emulator's credentials) unless `options` name credentials of their
        own: a new session per store would load botocore's service models
        again at every test.
        """
        if any(name in options for name in _CREDENTIALS):
            return {**DYNAMODB_DEFAULTS, **options}
        defaults = {k: v for k, v in DYNAMODB_DEFAULTS.items() if k not in _CREDENTIALS}
        return {**defaults, "session": self._shared_session(), **options}

    def _shared_session(self) -> Any:
        import aioboto3

        # Sessions belong to no event loop (their clients do), so one serves
        # every test of the session.
        with self._lock:
            if self._session is None:
                self._session = aioboto3.Session(
                    aws_access_key_id=DYNAMODB_DEFAULTS["aws_access_key_id"],
                    aws_secret_access_key=DYNAMODB_DEFAULTS["aws_secret_access_key"],
                    region_name=REGION,
                )
            return self._session

    async def drop_table(self, table: str) -> None:
        """Delete a table this plugin made."""
        if not table.startswith(TABLE_PREFIX):
            raise ValueError(f"refusing to delete {table!r}: the plugin did not make it")
        session = self._shared_session()
        async with session.client("dynamodb", endpoint_url=self.endpoint) as client:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                await client.delete_table(TableName=table)


def _answers(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), 2.0):
            return True
    except OSError:
        return False


def _start() -> LocalEmulator:
    return LocalEmulator.start(install(default_install_dir()))

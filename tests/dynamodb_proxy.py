"""An HTTP proxy in front of DynamoDB Local that refuses chosen calls as DynamoDB does.

DynamoDB Local never throttles and never reports a transaction conflict; a
store pointed at this proxy (its ``endpoint_url``) meets both, in DynamoDB's
own wire format, while every other call reaches the real emulator. It also
loses replies: a call reaches the emulator and is made, and the connection
drops before its answer. A fault on the wire, in front of the store's real
client, as the PostgreSQL fault proxy does for that server.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson
from aiohttp import web

__all__ = ["DynamoDBProxy", "dynamodb_proxy"]

_ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"
# Hop-by-hop and recomputed headers: the rest go through as signed.
_DROPPED = {"host", "content-length", "transfer-encoding", "connection"}


class DynamoDBProxy:
    """Forwards every call, but refuses the next `times` calls of an operation."""

    def __init__(self, upstream: str, port: int) -> None:
        self.upstream = upstream
        self.endpoint_url = f"http://127.0.0.1:{port}"
        self.calls: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self._refusals: dict[str, tuple[int, dict[str, Any]]] = {}
        self.lost: Counter[str] = Counter()
        self.reply_bytes: Counter[str] = Counter()
        self._losses: dict[str, int] = {}

    def refuse(self, operation: str, times: int, error: str, **fields: Any) -> None:
        """Answer the next `times` calls of `operation` (e.g. ``TransactWriteItems``,
        ``GetRecords``) with DynamoDB's `error` (e.g.
        ``ProvisionedThroughputExceededException``), its body holding `fields` too."""
        body = {"__type": _ERROR_PREFIX + error, "message": f"refused by the test: {error}"}
        self._refusals[operation] = (times, {**body, **fields})

    def lose_replies(self, operation: str, times: int) -> None:
        """Forward the next `times` calls of `operation` to the emulator, then drop
        the connection instead of answering: made, but the caller never hears."""
        self._losses[operation] = times

    async def handle(self, request: web.Request) -> web.StreamResponse:
        operation = request.headers.get("X-Amz-Target", "").rpartition(".")[2]
        self.calls[operation] += 1
        times, body = self._refusals.get(operation, (0, {}))
        if self.refused[operation] < times:
            self.refused[operation] += 1
            return web.Response(
                status=400,
                body=orjson.dumps(body),
                content_type="application/x-amz-json-1.0",
            )
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROPPED}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                self.upstream + request.path_qs,
                headers=headers,
                data=await request.read(),
            ) as answer,
        ):
            body = await answer.read()
            self.reply_bytes[operation] += len(body)
            if self.lost[operation] < self._losses.get(operation, 0):
                self.lost[operation] += 1
                assert request.transport is not None
                request.transport.close()
            return web.Response(
                status=answer.status,
                body=body,
                headers={k: v for k, v in answer.headers.items() if k.lower() not in _DROPPED},
            )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def dynamodb_proxy(upstream: str) -> AsyncIterator[DynamoDBProxy]:
    """A proxy to the emulator at `upstream`, listening on 127.0.0.1 until the block ends."""
    proxy = DynamoDBProxy(upstream, _free_port())
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(proxy.endpoint_url.rpartition(":")[2]))
    await site.start()
    try:
        yield proxy
    finally:
        await runner.cleanup()

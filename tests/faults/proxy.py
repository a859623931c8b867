"""A TCP proxy between the kit and PostgreSQL that loses chosen messages or their replies.

It understands just enough of the PostgreSQL wire protocol to see message
boundaries from the client: the untyped start-up packets (SSLRequest,
GSSENCRequest, StartupMessage), then typed messages (a type byte, a 4-byte
length). A rule names the client messages it applies to (e.g. the simple
query ``COMMIT``) and what to lose:

- ``"reply"``: the message reaches the server, which executes it (a COMMIT
  commits), and the connection is cut when the reply comes back: the client
  never learns the outcome;
- ``"message"``: the connection is cut before the message reaches the server.

Each rule fires `times` times, then the proxy passes everything through.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from collections.abc import Callable
from typing import Literal

import attrs

__all__ = ["FaultProxy", "Rule", "parse_of", "simple_query"]

_UNTYPED_REQUESTS = {80877103, 80877104}  # SSLRequest, GSSENCRequest: a start-up packet follows


def simple_query(prefix: str) -> Callable[[bytes, bytes], bool]:
    """Matches a simple-protocol query ('Q') whose text starts with `prefix` (any case)."""
    wanted = prefix.upper().encode()

    def matches(kind: bytes, body: bytes) -> bool:
        return kind == b"Q" and body.lstrip().upper().startswith(wanted)

    return matches


def parse_of(fragment: str) -> Callable[[bytes, bytes], bool]:
    """Matches the extended protocol's Parse ('P') of a statement whose text holds `fragment`.

    A connection parses each statement once (asyncpg keeps it prepared), so
    this matches a statement's first use on each connection.
    """
    wanted = fragment.encode()

    def matches(kind: bytes, body: bytes) -> bool:
        return kind == b"P" and wanted in body

    return matches


@attrs.define
class Rule:
    """Lose `what` for the next `times` client messages that `matches(type, body)`."""

    matches: Callable[[bytes, bytes], bool]
    what: Literal["reply", "message"]
    times: int = 1
    fired: int = 0


class FaultProxy:
    """Listens on 127.0.0.1 (`port`) and forwards to `upstream_port`, applying `rules`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.rules: list[Rule] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._cuts: set[asyncio.Event] = set()
        self._closing = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def lose(
        self,
        matches: Callable[[bytes, bytes], bool],
        what: Literal["reply", "message"],
        *,
        times: int = 1,
    ) -> Rule:
        rule = Rule(matches, what, times)
        self.rules.append(rule)
        return rule

    def cut_all(self) -> int:
        """Cut every connection through the proxy now (both sides see it end); how many."""
        for cut in self._cuts:
            cut.set()
        return len(self._cuts)

    async def close(self) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        # Connections accepted just before the close start their handler
        # later: let them start, see the close and end.
        await asyncio.sleep(0.01)
        self.cut_all()
        if self._links:
            await asyncio.wait(self._links)

    def _rule_for(self, kind: bytes, body: bytes) -> Rule | None:
        for rule in self.rules:
            if rule.fired < rule.times and rule.matches(kind, body):
                rule.fired += 1
                return rule
        return None

    async def _serve(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        cut = asyncio.Event()
        self._links.add(task)
        self._cuts.add(cut)
        writers = [client_writer]
        try:
            if self._closing:
                return
            try:
                server_reader, server_writer = await asyncio.open_connection(
                    "127.0.0.1", self.upstream_port
                )
            except OSError:
                return
            writers.append(server_writer)
            swallow = asyncio.Event()
            pumps = {
                asyncio.create_task(
                    self._client_to_server(client_reader, server_writer, cut, swallow)
                ),
                asyncio.create_task(
                    self._server_to_client(server_reader, client_writer, cut, swallow)
                ),
            }
            try:
                await cut.wait()
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.wait(pumps)
        finally:
            for writer in writers:
                writer.transport.abort()
            self._links.discard(task)
            self._cuts.discard(cut)

    async def _client_to_server(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        cut: asyncio.Event,
        swallow: asyncio.Event,
    ) -> None:
        try:
            started = False
            while True:
                if not started:
                    header = await reader.readexactly(8)
                    length, code = struct.unpack("!ii", header)
                    packet = header + await reader.readexactly(length - 8)
                    writer.write(packet)
                    started = code not in _UNTYPED_REQUESTS
                    continue
                header = await reader.readexactly(5)
                kind = header[:1]
                (length,) = struct.unpack("!i", header[1:])
                body = await reader.readexactly(length - 4)
                rule = self._rule_for(kind, body)
                if rule is not None and rule.what == "message":
                    break
                writer.write(header + body)
                await writer.drain()
                if rule is not None:
                    swallow.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        cut.set()

    async def _server_to_client(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        cut: asyncio.Event,
        swallow: asyncio.Event,
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                if swallow.is_set():
                    break  # the reply to the marked message: lost with the connection
                writer.write(data)
                await writer.drain()
        cut.set()

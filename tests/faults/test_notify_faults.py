"""The NOTIFY sender and the LISTEN waiter survive any driver error.

No server needed: fake connections raise what asyncpg raises, including
`InternalClientError` (the protocol's state broke), which once killed the
notifier's task ("Task exception was never retrieved") with its NOTIFY.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from eventsourcing_kit.stores.postgres._notify import Listener, Notifier


class FlakyConnection:
    """A NOTIFY connection whose first `failures` statements raise `error`."""

    def __init__(self, sent: list[str], failures: int, error: BaseException) -> None:
        self.sent = sent
        self.failures = failures
        self.error = error
        self.closed = False

    async def execute(self, query: str, *args: Any) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        self.sent.append(args[0])
        return "SELECT 1"

    def is_closed(self) -> bool:
        return self.closed

    def terminate(self) -> None:
        self.closed = True

    async def close(self, *, timeout: float | None = None) -> None:
        self.closed = True


def notifier_failing(times: int, error: BaseException, sent: list[str]) -> Notifier:
    remaining = [times]

    async def connect() -> Any:
        # Each new connection fails once while failures remain.
        failing = 1 if remaining[0] > 0 else 0
        remaining[0] -= failing
        return FlakyConnection(sent, failing, error)

    return Notifier(None, "channel", delay=0.0, connect=connect)  # type: ignore[arg-type]


async def test_the_notifier_sends_an_owed_notify_after_an_internal_client_error() -> None:
    sent: list[str] = []
    notifier = notifier_failing(3, asyncpg.InternalClientError("protocol state"), sent)
    notifier.poke()
    await asyncio.wait_for(notifier.flush(), 10)
    assert sent == ["channel"]
    await notifier.close()


async def test_the_notifier_survives_an_error_it_does_not_know() -> None:
    sent: list[str] = []
    notifier = notifier_failing(2, RuntimeError("something else"), sent)
    notifier.poke()
    await asyncio.wait_for(notifier.flush(), 10)
    assert sent == ["channel"]
    notifier.poke()  # and it goes on notifying afterwards
    await asyncio.wait_for(notifier.flush(), 10)
    assert sent == ["channel", "channel"]
    await notifier.close()


async def test_the_notifier_gives_an_owed_notify_up_without_failing_its_task() -> None:
    sent: list[str] = []
    notifier = notifier_failing(100, asyncpg.InternalClientError("down"), sent)
    notifier.poke()
    await asyncio.wait_for(notifier.close(), 10)
    assert sent == []
    assert notifier._task is not None
    assert notifier._task.exception() is None


class BrokenPool:
    """A pool whose acquire raises `error`."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def acquire(self) -> Any:
        raise self.error


async def test_the_listener_polls_when_it_cannot_listen_for_an_internal_client_error() -> None:
    listener = Listener(BrokenPool(asyncpg.InternalClientError("broken")), "channel")  # type: ignore[arg-type]
    assert await listener.wait(0.01) is False
    await listener.close()


async def test_the_listener_polls_when_it_cannot_listen_for_an_error_it_does_not_know() -> None:
    listener = Listener(BrokenPool(RuntimeError("unknown")), "channel")  # type: ignore[arg-type]
    assert await listener.wait(0.01) is False
    await listener.close()

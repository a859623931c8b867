"""The store's log lines, as a user's structlog configuration receives them."""

from __future__ import annotations

from structlog.testing import capture_logs

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.sqlite import SQLiteEventStore


async def test_each_append_logs_one_debug_line_with_its_figures(store: SQLiteEventStore) -> None:
    with capture_logs() as logs:
        await store.append_events("Account-1", [NewEvent("Opened", {}), NewEvent("Deposited", {})])
    [line] = logs
    assert line["log_level"] == "debug"
    assert line["stream_id"] == "Account-1"
    assert line["count"] == 2
    assert line["version"] == 2
    assert line["duration_ms"] >= 0

"""One log line per append, built only when the application's level lets it through."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.testing import StoreFactory


@pytest.fixture
def structlog_at_debug() -> Iterator[None]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.reset_defaults()


@pytest.fixture
def structlog_at_info() -> Iterator[None]:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    yield
    structlog.reset_defaults()


async def _memory_store(store_factory: StoreFactory) -> EventStore:
    return await store_factory.open("memory")


@pytest.mark.usefixtures("structlog_at_debug")
async def test_each_append_logs_one_debug_line_with_what_it_wrote(
    store_factory: StoreFactory,
) -> None:
    store = await _memory_store(store_factory)
    with capture_logs() as lines:
        await store.append_events("Account-1", [NewEvent("Opened", {}), NewEvent("Paid", {})])
    appended = [line for line in lines if line["event"] == "appended"]
    assert len(appended) == 1
    assert appended[0]["log_level"] == "debug"
    assert appended[0]["stream_id"] == "Account-1"
    assert appended[0]["count"] == 2
    assert appended[0]["version"] == 2


@pytest.mark.usefixtures("structlog_at_info")
async def test_appends_log_nothing_when_the_level_is_above_debug(
    store_factory: StoreFactory,
) -> None:
    store = await _memory_store(store_factory)
    with capture_logs() as lines:
        await store.append_events("Account-1", [NewEvent("Opened", {})])
    assert [line for line in lines if line["event"] == "appended"] == []

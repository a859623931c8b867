"""connect(): URLs, options and the two ways to hold the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventsourcing_kit import MemoryEventStore, SQLiteEventStore, connect
from eventsourcing_kit.errors import ConfigurationError, StoreClosedError


async def test_awaiting_connect_gives_an_open_store() -> None:
    store = await connect("memory://")
    assert isinstance(store, MemoryEventStore)
    await store.close()


async def test_async_with_closes_the_store_at_the_end(tmp_path: Path) -> None:
    async with connect(f"sqlite:///{tmp_path / 'a.db'}") as store:
        assert isinstance(store, SQLiteEventStore)
    with pytest.raises(StoreClosedError):
        await store.stream_version("Account-1")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://localhost/db", "unknown store URL scheme 'mysql'"),
        ("sqlite://", "cannot read store URL"),
        ("sqlite:///", "names no file"),
        ("dynamodb://t", "invalid DynamoDB store URL"),
        ("dynamodb://table?password=x", "unknown parameter 'password'"),
        ("bank.db", "cannot read store URL"),
    ],
)
async def test_a_url_it_cannot_use_says_which_urls_work(url: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await connect(url)


async def test_an_unknown_option_names_the_options_that_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown option\(s\) \['busy_timout'\]"):
        await connect(f"sqlite:///{tmp_path / 'a.db'}", busy_timout=1)


async def test_memory_takes_no_options() -> None:
    with pytest.raises(ConfigurationError, match="takes no options"):
        await connect("memory://", schema="x")


def test_connect_needs_a_string() -> None:
    with pytest.raises(ConfigurationError, match="URL string"):
        connect(Path("bank.db"))  # type: ignore[arg-type]

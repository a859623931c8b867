"""The driver of docs/writing-a-backend.md, as written there, passes the store contract.

This is the check a new backend author makes: follow the page, then run the
contract suite against what it produced.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from eventsourcing_kit.stores.driver import EventStore
from eventsourcing_kit.testing import StoreContract

PAGE = Path(__file__).resolve().parents[2] / "docs" / "writing-a-backend.md"


def documented_driver() -> type[Any]:
    """The `DictDriver` class defined by the page's runnable block."""
    [block] = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(encoding="utf-8"), re.M | re.S)
    namespace: dict[str, Any] = {"__name__": "documented_driver"}
    exec(compile(block, str(PAGE), "exec"), namespace)
    driver: type[Any] = namespace["DictDriver"]
    return driver


class TestTheDocumentedDriver(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[EventStore]:
        store = EventStore(documented_driver()())
        yield store
        await store.close()

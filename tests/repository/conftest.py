from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsourcing_kit import EventStore, connect


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventStore]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'repo.db'}"
    async with connect(url) as opened:
        yield opened

"""The conformance suite every event store backend must pass.

Subclass `StoreContract` in a test module (its name does not start with
``Test``, so pytest collects only your subclass) and give it a ``store``
fixture::

    class TestMyStore(StoreContract):
        @pytest.fixture
        async def store(self, tmp_path):
            store = await connect(f"mystore:///{tmp_path}/events")
            yield store
            await store.close()

Optional fixtures, each None by default (their tests are then skipped):

- ``reopen``: a factory ``async () -> EventStore`` opening a second store
  object on the same storage (another connection, another file handle).
  The tests that use it check persistence and concurrency between handles.
  It closes what it opened when the test ends.
- ``store_url``: the URL that `connect` opens the same kind of store with,
  for the tests of ``async with connect(url)``.

The tests use the public API only and run under pytest-asyncio. The class
carries the ``asyncio`` mark; in strict mode, declare your async fixtures
with ``@pytest_asyncio.fixture``. For pytest's rich
assertion messages, call ``pytest.register_assert_rewrite("eventsourcing_kit.testing")``
in your conftest.py before importing this package.
"""

from __future__ import annotations

import pytest

from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.testing._contract_appends import AppendContract
from eventsourcing_kit.testing._contract_bounds import BoundsContract
from eventsourcing_kit.testing._contract_checkpoints import CheckpointContract
from eventsourcing_kit.testing._contract_concurrency import ConcurrencyContract
from eventsourcing_kit.testing._contract_leases import LeaseContract
from eventsourcing_kit.testing._contract_lifecycle import LifecycleContract
from eventsourcing_kit.testing._contract_listing import ListingContract
from eventsourcing_kit.testing._contract_many import AppendManyContract
from eventsourcing_kit.testing._contract_partitions import PartitionContract
from eventsourcing_kit.testing._contract_reads import ReadContract
from eventsourcing_kit.testing._contract_state import StateContract
from eventsourcing_kit.testing._contract_support import Reopen
from eventsourcing_kit.testing._contract_validation import ValidationContract

__all__ = ["Reopen", "StoreContract"]


class StoreContract(
    AppendContract,
    AppendManyContract,
    BoundsContract,
    ConcurrencyContract,
    ReadContract,
    PartitionContract,
    ValidationContract,
    StateContract,
    CheckpointContract,
    LeaseContract,
    ListingContract,
    LifecycleContract,
):
    """The behaviour every `EventStore` backend guarantees, one test per rule.

    See the module docstring for the fixtures a subclass provides.
    """

    pytestmark = [pytest.mark.asyncio]

    # --- fixtures a backend provides -----------------------------------------

    @pytest.fixture
    def store(self) -> EventStore:
        """A fresh, empty store, closed after the test: override it."""
        raise NotImplementedError(
            f"{type(self).__name__} subclasses StoreContract but defines no `store` fixture; "
            "add one that yields a fresh, empty EventStore and closes it afterwards"
        )

    @pytest.fixture
    def reopen(self) -> Reopen | None:
        """Opens a second store object on the same storage; None if impossible."""
        return None

    @pytest.fixture
    def store_url(self) -> str | None:
        """The URL `connect` opens this kind of store with; None to skip those tests."""
        return None

    @pytest.fixture
    def second(self, reopen: Reopen | None) -> Reopen:
        """`reopen`, or a skip for backends without it."""
        if reopen is None:
            pytest.skip("this backend cannot open a second store object on the same storage")
        return reopen

"""Helpers for testing event-sourced code and event store backends with pytest.

Fresh stores for tests come from the pytest plugin
`eventsourcing_kit.testing.plugin`, which you enable in your conftest.py;
importing this package enables nothing.
"""

from eventsourcing_kit.testing._factory import StoreFactory
from eventsourcing_kit.testing._scenario import Scenario, scenario
from eventsourcing_kit.testing._stateful import AggregateStateMachine
from eventsourcing_kit.testing._store_contract import StoreContract
from eventsourcing_kit.testing._strategies import (
    Command,
    aggregates,
    command,
    commands,
    events,
    values_of,
)

__all__ = [
    "AggregateStateMachine",
    "Command",
    "Scenario",
    "StoreContract",
    "StoreFactory",
    "aggregates",
    "command",
    "commands",
    "events",
    "scenario",
    "values_of",
]

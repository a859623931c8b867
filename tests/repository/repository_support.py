"""The aggregate the repository tests share: a counter of positive amounts."""

from __future__ import annotations

import attrs

from eventsourcing_kit import Aggregate


@attrs.frozen
class Added:
    amount: int


@attrs.define
class Counter(Aggregate):
    event_types = (Added,)
    total: int = 0
    history: tuple[int, ...] = ()

    def add(self, amount: int) -> None:
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.record(Added(amount))

    def apply(self, event: object) -> None:
        match event:
            case Added(amount=amount):
                self.total += amount
                self.history = (*self.history, amount)

"""The aggregate the scale benchmarks update and load: a counter of deposits.

Its one event carries the benchmarks' usual payload (about 120 bytes of
JSON, _pg_common.payload), so a loaded stream costs what the other
scenarios' events cost to decode.
"""

from __future__ import annotations

import attrs

from eventsourcing_kit import Aggregate


@attrs.frozen
class Deposited:
    amount: int
    currency: str
    reference: str


@attrs.define
class Counter(Aggregate):
    """Counts deposits and sums them."""

    event_types = (Deposited,)

    deposits: int = 0
    total: int = 0

    def deposit(self, n: int) -> None:
        self.record(Deposited(100 + n % 997, "EUR", f"invoice-{n:08d}"))

    def apply(self, event: object) -> None:
        match event:
            case Deposited(amount=amount):
                self.deposits += 1
                self.total += amount
            case _:
                raise TypeError(f"Counter cannot apply {event!r}")

"""The transfer process manager: credit the receiver, or refund the sender.

A transfer starts with `TransferSent` on the sender's account (the money has
left it). This manager follows those events and credits the receiver; when
the receiver cannot take it (closed or unknown account), it refunds the
sender. Delivery is at-least-once, so both commands are idempotent: an
account ignores a transfer id it has already received or refunded.
"""

from __future__ import annotations

from uuid import UUID

import structlog

from eventsourcing_kit import AggregateNotFound, RecordedEvent, Repository
from samples.bank.domain import Account, BankError, TransferSent

SUBSCRIPTION_ID = "bank.transfers"

logger = structlog.get_logger(__name__)


class TransferManager:
    """The handler of the transfer subscription (``event_types=["TransferSent"]``)."""

    def __init__(self, accounts: Repository[Account]) -> None:
        self._accounts = accounts
        self.completed = 0
        self.refunded = 0

    async def __call__(self, record: RecordedEvent) -> None:
        sent = self._accounts.events.decode(record)
        assert isinstance(sent, TransferSent)
        sender = UUID(record.stream_id.partition("-")[2])
        caused_by = {"causation_id": str(record.event_id)}
        try:
            await self._accounts.update(
                sent.to_account,
                lambda receiver: receiver.receive_transfer(sent.transfer_id, sender, sent.amount),
                metadata=caused_by,
            )
        except (BankError, AggregateNotFound) as refused:
            logger.info(
                "transfer refused; refunding",
                transfer_id=str(sent.transfer_id),
                reason=str(refused),
            )
            await self._accounts.update(
                sender,
                lambda account: account.refund_transfer(sent.transfer_id, sent.amount),
                metadata=caused_by,
            )
            self.refunded += 1
        else:
            self.completed += 1

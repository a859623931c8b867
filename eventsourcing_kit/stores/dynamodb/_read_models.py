"""Exactly-once read models on DynamoDB: a handler's writes, committed with the checkpoint.

DynamoDB has no interactive transaction a handler could write through. A
checkpoint transaction's `connection` is instead a `ReadModelWrites`: it
collects the handler's Put, Update, Delete and ConditionCheck actions on
the user's own tables, and the transaction's end sends them in one
``TransactWriteItems`` with the conditional put of the checkpoint. A runner
that was fenced (the checkpoint moved under it) so writes nothing at all; a
resend after a lost reply carries the same request token, which DynamoDB
answers without writing again, and were it outside the token's ten
minutes, the checkpoint's condition would cancel it.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from eventsourcing_kit.errors import InvalidInputError, StoreError
from eventsourcing_kit.stores.driver import (
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    DriverTransaction,
    Position,
)
from eventsourcing_kit.stores.dynamodb import _state
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._items import checkpoint_key, item_size
from eventsourcing_kit.stores.dynamodb._limits import (
    MAX_TRANSACTION_ACTIONS,
    MAX_TRANSACTION_BYTES,
    check_item,
)

__all__ = ["MAX_READ_MODEL_ACTIONS", "ReadModelWrites", "checkpoint_writes"]

MAX_READ_MODEL_ACTIONS = MAX_TRANSACTION_ACTIONS - 1
"""Actions one checkpoint transaction may collect: DynamoDB's 100 per
transaction, less the checkpoint's own."""


class ReadModelWrites:
    """A DynamoDB checkpoint transaction's read-model writes (its `connection`).

    Each method adds one action of DynamoDB's ``TransactWriteItems`` on a
    table of yours, in DynamoDB's typed form (``{"pk": {"S": "a"}}``);
    `condition`, `names` and `values` are the action's
    ``ConditionExpression``, ``ExpressionAttributeNames`` and
    ``ExpressionAttributeValues``. Nothing is sent until the transaction
    ends: then every action and the subscription's checkpoint commit
    together, or none does. At most `MAX_READ_MODEL_ACTIONS` (99) actions,
    one item once: an action over the limit raises `InvalidInputError`.
    """

    def __init__(self, store_table: str) -> None:
        self._store_table = store_table
        self._actions: list[dict[str, Any]] = []
        self._size = 0

    def __len__(self) -> int:
        return len(self._actions)

    def put(
        self,
        table: str,
        item: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Write `item` whole (``Put``), if `condition` holds."""
        check_item(item_size(dict(item)), f"the read-model item put into table {table!r}")
        self._add("Put", table, {"Item": dict(item)}, condition, names, values)

    def update(
        self,
        table: str,
        key: Mapping[str, Any],
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Apply the update `expression` to the item at `key`, if `condition` holds."""
        self._add(
            "Update",
            table,
            {"Key": dict(key), "UpdateExpression": expression},
            condition,
            names,
            values,
        )

    def delete(
        self,
        table: str,
        key: Mapping[str, Any],
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Delete the item at `key`, if `condition` holds."""
        self._add("Delete", table, {"Key": dict(key)}, condition, names, values)

    def condition_check(
        self,
        table: str,
        key: Mapping[str, Any],
        condition: str,
        *,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        """Commit only if `condition` holds on the item at `key` (nothing is written to it)."""
        self._add("ConditionCheck", table, {"Key": dict(key)}, condition, names, values)

    def _add(
        self,
        kind: str,
        table: str,
        body: dict[str, Any],
        condition: str | None,
        names: Mapping[str, str] | None,
        values: Mapping[str, Any] | None,
    ) -> None:
        if not isinstance(table, str) or not table:
            raise InvalidInputError(f"a read-model write names a table: got {table!r}")
        if table == self._store_table:
            raise InvalidInputError(
                f"table {table!r} is the event store's own: keep read models in tables of "
                "their own (the store's items are the store's to write)"
            )
        if len(self._actions) >= MAX_READ_MODEL_ACTIONS:
            raise InvalidInputError(
                f"a checkpoint transaction on DynamoDB holds at most {MAX_READ_MODEL_ACTIONS} "
                f"read-model writes: DynamoDB's limit of {MAX_TRANSACTION_ACTIONS} actions per "
                "transaction, less the checkpoint's; handle fewer events per batch "
                "(batch_size) or write less per event"
            )
        action: dict[str, Any] = {"TableName": table, **body}
        if condition is not None:
            action["ConditionExpression"] = condition
        if names:
            action["ExpressionAttributeNames"] = dict(names)
        if values:
            action["ExpressionAttributeValues"] = dict(values)
        size = sum(item_size(part) for part in body.values() if isinstance(part, dict))
        if self._size + size > MAX_TRANSACTION_BYTES:
            raise InvalidInputError(
                f"the read-model writes of this checkpoint transaction pass DynamoDB's limit "
                f"of {MAX_TRANSACTION_BYTES} bytes (4 MB) per transaction: write less per batch"
            )
        self._size += size
        self._actions.append({kind: action})

    def _take(self) -> list[dict[str, Any]]:
        actions, self._actions, self._size = self._actions, [], 0
        return actions


class _CheckpointWrites(DriverTransaction):
    """The handle of one checkpoint transaction: the writes, sent with the checkpoint."""

    def __init__(self, calls: Calls, subscription_id: str) -> None:
        self._calls = calls
        self._subscription_id = subscription_id
        self.writes = ReadModelWrites(calls.location.table)

    @property
    def connection(self) -> ReadModelWrites:
        return self.writes

    async def save_checkpoint(self, position: Position) -> None:
        await self._commit(position, conditional=False, expected=None)

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        return await self._commit(position, conditional=True, expected=expected)

    async def finish(self) -> None:
        """Commit writes left without a checkpoint (a block that saved none)."""
        actions = self.writes._take()
        if actions:
            await self._send(actions, checkpoint=False)

    async def _commit(
        self, position: Position, *, conditional: bool, expected: Position | None
    ) -> CheckpointOutcome:
        actions = self.writes._take()
        if not actions:
            if not conditional:
                await _state.save_checkpoint(self._calls, self._subscription_id, position)
                return CheckpointSaved()
            return await _state.save_checkpoint_if(
                self._calls, self._subscription_id, position, expected=expected
            )
        put: dict[str, Any] = {
            "TableName": self._calls.location.table,
            "Item": {**checkpoint_key(self._subscription_id), "p": {"N": str(int(position))}},
        }
        if conditional:
            put.update(_state.checkpoint_condition(expected))
        try:
            await self._send([*actions, {"Put": put}], checkpoint=True)
        except _CheckpointFailed:
            return CheckpointFenced(
                await _state.load_checkpoint(self._calls, self._subscription_id)
            )
        return CheckpointSaved()

    async def _send(self, actions: list[dict[str, Any]], *, checkpoint: bool) -> None:
        try:
            # One token for every resend of this request (`Calls` retries a
            # lost reply): DynamoDB answers a resend without writing twice.
            await self._calls(
                "transact_write_items",
                TransactItems=actions,
                ClientRequestToken=uuid.uuid4().hex,
            )
        except Canceled as canceled:
            reasons = canceled.reasons
            if checkpoint and reasons and reasons[-1].get("Code") == "ConditionalCheckFailed":
                raise _CheckpointFailed() from None
            raise _failure(actions, reasons) from None


class _CheckpointFailed(Exception):
    """The checkpoint's condition failed: the runner was fenced."""


def _failure(actions: list[dict[str, Any]], reasons: list[dict[str, Any]]) -> StoreError:
    for index, reason in enumerate(reasons):
        code = reason.get("Code")
        if code not in (None, "None") and index < len(actions):
            ((kind, action),) = actions[index].items()
            return StoreError(
                f"DynamoDB cancelled the checkpoint transaction: read-model write {index} "
                f"({kind} on table {action['TableName']!r}) failed: {code}: "
                f"{reason.get('Message', '')}; nothing of the transaction was written"
            )
    return StoreError(f"DynamoDB cancelled the checkpoint transaction: {reasons}")


@asynccontextmanager
async def checkpoint_writes(calls: Calls, subscription_id: str) -> AsyncIterator[DriverTransaction]:
    """`Driver.transaction` on DynamoDB: read-model writes sent with the checkpoint."""
    handle = _CheckpointWrites(calls, subscription_id)
    yield handle
    await handle.finish()

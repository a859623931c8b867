"""Consumer groups: N subscriptions that share the work by stream.

Member ``m`` of a group of ``n`` handles the streams whose CRC-32 of the
UTF-8 stream id is ``m`` modulo ``n`` (the store's `partition_of`). CRC-32
rather than `hash()`: Python salts string hashes per process, and every
member, in every process, on every restart, must agree on who owns a
stream. Members read through the store's partition filter
(`EventStore.read_all(partition=...)`): on PostgreSQL and SQLite only their
streams' events leave the database. One stream always lands on
one member, so its events stay in version order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Unpack

import attrs

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores import (
    EventStore,
    Partition,
    Position,
    partition_of,
    validate_subscription_id,
)
from eventsourcing_kit.subscriptions._options import Handler, SubscriptionOptions

if TYPE_CHECKING:
    from eventsourcing_kit.subscriptions._subscription import Subscription

__all__ = ["GroupMember", "consumer_group", "group_member", "member_for", "rescale_consumer_group"]

logger = get_logger(__name__)


def member_for(stream_id: str, size: int) -> int:
    """The member of a group of `size` that handles `stream_id` (`partition_of`'s rule)."""
    return partition_of(stream_id, size)


def _check_size(size: object, name: str = "size") -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigurationError(f"a consumer group's {name} must be an int >= 1, got {size!r}")
    return size


@attrs.frozen
class GroupMember:
    """One member of a consumer group: its share of the streams and its checkpoint id."""

    group: str
    member: int
    size: int

    def __attrs_post_init__(self) -> None:
        _check_size(self.size)
        if isinstance(self.member, bool) or not isinstance(self.member, int):
            raise ConfigurationError(f"member must be an int, got {self.member!r}")
        if not 0 <= self.member < self.size:
            raise ConfigurationError(
                f"member {self.member} is outside the group of {self.size}: members are "
                f"numbered 0 to {self.size - 1}"
            )
        validate_subscription_id(self.subscription_id)

    @property
    def subscription_id(self) -> str:
        """The id its checkpoint is stored under: ``{group}:{member}/{size}``."""
        return f"{self.group}:{self.member}/{self.size}"

    @property
    def partition(self) -> Partition:
        """Its share of the streams, as the store's read filter."""
        return Partition(self.member, self.size)

    def owns(self, stream_id: str) -> bool:
        """True when this member handles the events of `stream_id`."""
        return member_for(stream_id, self.size) == self.member


def group_member(
    store: EventStore,
    group: str,
    handler: Handler,
    *,
    member: int,
    size: int,
    **options: Unpack[SubscriptionOptions],
) -> Subscription:
    """The subscription of member `member` of the consumer group `group` of `size`.

    Run one per process (or task); `options` are those of `Subscription`
    (`SubscriptionOptions`).
    """
    from eventsourcing_kit.subscriptions._subscription import Subscription

    position = GroupMember(group, member, size)
    return Subscription(store, position.subscription_id, handler, partition=position, **options)


def consumer_group(
    store: EventStore,
    group: str,
    handler: Handler,
    *,
    size: int,
    **options: Unpack[SubscriptionOptions],
) -> list[Subscription]:
    """All `size` members of a consumer group, to run in this process."""
    _check_size(size)
    return [
        group_member(store, group, handler, member=member, size=size, **options)
        for member in range(size)
    ]


async def rescale_consumer_group(
    store: EventStore, group: str, *, old_size: int, new_size: int
) -> Position | None:
    """Give the members of a group of `new_size` the checkpoint of the stopped old group.

    Every member of the new group starts from the smallest checkpoint of the
    old members, so no event is skipped; the events between that minimum and
    an old member's own checkpoint are handled again (at-least-once). If an
    old member has no checkpoint, the new members get none either and start
    from the beginning (or from now, with ``start="now"``: do not use that
    with groups). Stop every old member first. The old checkpoints are left in
    place, so running this again gives the same result; delete them with
    `EventStore.delete_checkpoint` once the new group runs. Events the old
    members parked stay under the old members' ids: replay them through
    ``group_member(..., size=old_size).replay_parked()``. Returns the
    position the new group starts from (None: the beginning).
    """
    _check_size(old_size, "old_size")
    _check_size(new_size, "new_size")
    if old_size == new_size:
        raise ConfigurationError(f"the group {group!r} already has {new_size} members")
    log = logger.bind(group=group, old_size=old_size, new_size=new_size)
    old = [
        await store.load_checkpoint(GroupMember(group, member, old_size).subscription_id)
        for member in range(old_size)
    ]
    start: Position | None = None
    if all(position is not None for position in old):
        start = min(old)  # type: ignore[type-var]
    for member in range(new_size):
        subscription_id = GroupMember(group, member, new_size).subscription_id
        if start is None:
            await store.delete_checkpoint(subscription_id)
        else:
            await store.save_checkpoint(subscription_id, start)
    log.info("consumer group rescaled", start=start, old_checkpoints=old)
    return start

"""Subscriptions: checkpointed, resumable readers of the global order.

`Subscription` (what `subscribe(store, ...)` returns) feeds a handler and
stores its checkpoint; `SubscriptionRunner` runs several; `consumer_group`
splits the streams among members; `Projection` dispatches typed events to
methods. See docs/subscriptions.md.
"""

from eventsourcing_kit.subscriptions._balancing import BalancingMember, join_group
from eventsourcing_kit.subscriptions._groups import (
    GroupMember,
    consumer_group,
    group_member,
    member_for,
    rescale_consumer_group,
)
from eventsourcing_kit.subscriptions._options import (
    HandlerContext,
    LeasePolicy,
    RetryPolicy,
    SubscriptionOptions,
)
from eventsourcing_kit.subscriptions._parking import (
    ParkedEvent,
    ReplayResult,
    list_parked,
    parked_stream_id,
)
from eventsourcing_kit.subscriptions._projection import EventDecoder, Projection, handles
from eventsourcing_kit.subscriptions._runner import SubscriptionRunner
from eventsourcing_kit.subscriptions._status import SubscriptionState, SubscriptionStatus
from eventsourcing_kit.subscriptions._subscribe import subscribe
from eventsourcing_kit.subscriptions._subscription import Subscription

__all__ = [
    "BalancingMember",
    "EventDecoder",
    "GroupMember",
    "HandlerContext",
    "LeasePolicy",
    "ParkedEvent",
    "Projection",
    "ReplayResult",
    "RetryPolicy",
    "Subscription",
    "SubscriptionOptions",
    "SubscriptionRunner",
    "SubscriptionState",
    "SubscriptionStatus",
    "consumer_group",
    "group_member",
    "handles",
    "join_group",
    "list_parked",
    "member_for",
    "parked_stream_id",
    "rescale_consumer_group",
    "subscribe",
]

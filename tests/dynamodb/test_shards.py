"""Stream shards are read parents first, so a stream's events stay in order across splits."""

from __future__ import annotations

from eventsourcing_kit.stores.dynamodb import ready_shards

LISTING = [
    {"ShardId": "parent"},
    {"ShardId": "child", "ParentShardId": "parent"},
    {"ShardId": "orphan", "ParentShardId": "trimmed-long-ago"},
]


def test_a_child_shard_waits_until_its_parent_is_finished() -> None:
    assert ready_shards(LISTING, []) == ["parent", "orphan"]


def test_a_child_shard_is_read_once_its_parent_is_finished() -> None:
    assert ready_shards(LISTING, ["parent"]) == ["child", "orphan"]


def test_finished_shards_are_not_read_again() -> None:
    assert ready_shards(LISTING, ["parent", "child", "orphan"]) == []


SPLIT = [
    {"ShardId": "parent"},
    {"ShardId": "left", "ParentShardId": "parent"},
    {"ShardId": "right", "ParentShardId": "parent"},
    {"ShardId": "grandchild", "ParentShardId": "left"},
]


def test_each_generation_of_a_split_waits_for_its_own_parent() -> None:
    # DynamoDB Local never splits a shard: the order is checked on the shard graph alone.
    assert ready_shards(SPLIT, []) == ["parent"]
    assert ready_shards(SPLIT, ["parent"]) == ["left", "right"]
    assert ready_shards(SPLIT, ["parent", "right"]) == ["left"]
    assert ready_shards(SPLIT, ["parent", "left"]) == ["right", "grandchild"]

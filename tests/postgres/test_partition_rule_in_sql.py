"""The SQL's partition rule is the kit's: stream_partition() agrees with partition_of."""

from __future__ import annotations

import random

from eventsourcing_kit.stores import partition_of
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

# Code points from every UTF-8 length (1 to 4 bytes), no NUL (PostgreSQL
# text cannot hold it) and no surrogates (not encodable).
RANGES = [(0x01, 0x7F), (0x80, 0x7FF), (0x800, 0xD7FF), (0xE000, 0xFFFF), (0x10000, 0x10FFFF)]


def stream_ids(count: int, seed: int) -> list[str]:
    chooser = random.Random(seed)
    made = []
    for _ in range(count):
        length = chooser.randint(1, 40)
        made.append("".join(chr(chooser.randint(*chooser.choice(RANGES))) for _ in range(length)))
    return made


async def test_the_sql_rule_puts_every_stream_where_the_python_rule_does(
    pg_store: PostgresEventStore,
) -> None:
    ids = [*stream_ids(2000, seed=12), "Account-1", "x" * 1000]
    rule = f"{quote_identifier(pg_store.schema)}.stream_partition"
    for count in (1, 2, 6, 7, 1000, 2**31 - 1):
        in_sql = await pg_store.pool.fetchval(
            f"SELECT array_agg({rule}(id, $2) ORDER BY n) "
            "FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n)",
            ids,
            count,
        )
        assert in_sql == [partition_of(stream_id, count) for stream_id in ids], count

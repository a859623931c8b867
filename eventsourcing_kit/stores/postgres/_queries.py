"""The statements the PostgreSQL store sends, built once per schema.

Only the schema name is put into the text, as a quoted identifier (an
identifier cannot be a bind parameter); every value is bound (``$1``...).

The global order. Readers that follow it (`read_all`, `read_category`,
subscriptions) order by ``(transaction_id, global_position)`` and only
deliver rows whose ``transaction_id`` is below
``pg_snapshot_xmin(pg_current_snapshot())``. Why: ``global_position`` is a
BIGSERIAL drawn at INSERT time, and concurrent transactions commit out of
sequence order. A reader of ``WHERE global_position > $1`` that has seen 12
moves past 11 while 11's transaction is still open; when 11 commits a moment
later, that reader never sees it (DESIGN.md, "The global order must never
skip"). Locking the table per append would fix it by serializing every
writer, commit latency included. Instead:

- ``transaction_id`` is the writing transaction's ``pg_current_xact_id()``
  (xid8: 64 bits, never wraps), the same for every row the transaction
  writes, even from a savepoint;
- ``xmin`` of the statement's snapshot is the oldest transaction still
  running. Every transaction with a smaller id has ended, so all rows below
  xmin are either visible now or never will be: no row can appear later
  below xmin. A reader that delivers only rows below xmin, in
  ``(transaction_id, global_position)`` order, and resumes after the last
  pair it delivered, can never skip one;
- rows of transactions at or above xmin are held back even when they are
  committed and visible (a committed transaction 105 waits while 101 is in
  flight), because 101 would otherwise land before the reader's position.
  The same holds for the reader's own writes: inside a transaction that
  wrote, xmin is at most its own id, so its uncommitted rows are never
  delivered.

The cost: a reader waits for the oldest running transaction that holds an id,
in any database of the server (a long write transaction elsewhere delays
delivery, never correctness). Writers of different streams do not wait
for each other; writers of one stream queue on its row in ``streams``.
"""

from __future__ import annotations

import attrs

__all__ = ["Queries", "quote_identifier"]


def quote_identifier(name: str) -> str:
    """`name` as a double-quoted SQL identifier (embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


_COLUMNS = (
    "stream_id, version, event_type, data::text, metadata::text, event_id, "
    "global_position, transaction_id, recorded_at"
)
_BELOW_XMIN = "transaction_id < pg_snapshot_xmin(pg_current_snapshot())"
_NOTIFY_IF_ASKED = "CASE WHEN $7::text IS NULL THEN NULL ELSE pg_notify($7, '') END"


@attrs.frozen
class Queries:
    """Every statement of the store, for one schema."""

    schema: str
    append: str
    append_one: str
    append_next: str
    append_new: str
    append_next_many: str
    append_new_many: str
    append_group: str
    append_group_exact: str
    stream_version: str
    read_stream: str
    read_all: str
    read_all_types: str
    read_category: str
    read_category_types: str
    head_position: str
    held_back: str
    held_back_types: str
    held_back_category: str
    held_back_category_types: str
    xmin: str
    by_event_ids: str
    save_snapshot: str
    load_snapshot: str
    load_checkpoint: str
    save_checkpoint: str
    save_checkpoint_if: str
    delete_checkpoint: str
    list_streams: str
    list_category_streams: str
    list_checkpoints: str
    acquire_lease: str
    release_lease: str
    lease_holders: str

    def partitioned(self, query: str, first: int) -> str:
        """`query` (a reading or held-back query) kept to one partition's streams.

        Its arguments ``$first`` and ``$first+1`` are the partition count and
        index (store/postgres/0013's ``stream_partition()``).
        """
        condition = (
            f"AND {quote_identifier(self.schema)}.stream_partition(stream_id, ${first}::integer) "
            f"= ${first + 1}::integer ORDER BY "
        )
        return query.replace(" ORDER BY ", f" {condition}", 1)

    @classmethod
    def for_schema(cls, schema: str) -> Queries:
        s = quote_identifier(schema)
        after = "(transaction_id, global_position) > ($1::xid8, $2::bigint)"
        order = "ORDER BY transaction_id, global_position LIMIT $3"

        def held_back(where: str) -> str:
            # The newest row after ($1, $2) that the reader's filter matches
            # (none: NULLs), with the oldest running transaction. A reader
            # must never wait on, or read again for, rows it would not get.
            # Bounded by ($1, $2), the reader's last row: at worst it scans
            # backwards what the reader's last page just scanned forwards.
            return (
                "SELECT last.transaction_id, last.global_position, "
                "pg_snapshot_xmin(pg_current_snapshot()) FROM (SELECT 1) AS one LEFT JOIN "
                f"(SELECT transaction_id, global_position FROM {s}.events WHERE {after} {where}"
                "ORDER BY transaction_id DESC, global_position DESC LIMIT 1) AS last ON true"
            )

        def holds(expected: str, actual: str) -> str:
            # The expected-version rule, written once in SQL (0010's
            # expected_version_holds(), which the planner inlines).
            return f"{s}.expected_version_holds({expected}, {actual})"

        insert_one = (
            f"INSERT INTO {s}.events (event_id, stream_id, version, event_type, data, metadata) "
            "SELECT $3, $1, claimed.version, $4, $5::jsonb, $6::jsonb FROM claimed "
            f"RETURNING transaction_id, global_position, {_NOTIFY_IF_ASKED}"
        )
        insert_many = (
            f"inserted AS (INSERT INTO {s}.events "
            "(event_id, stream_id, version, event_type, data, metadata) "
            "SELECT u.event_id, $1, claimed.base + u.n::bigint, u.event_type, "
            "u.data::jsonb, u.metadata::jsonb FROM claimed, "
            "unnest($3::uuid[], $4::text[], $5::text[], $6::text[]) "
            "WITH ORDINALITY AS u(event_id, event_type, data, metadata, n) ORDER BY u.n "
            "RETURNING global_position) "
            "SELECT CASE WHEN count(*) > 0 THEN pg_current_xact_id() END, max(global_position), "
            "CASE WHEN $7::text IS NULL OR count(*) = 0 THEN NULL ELSE pg_notify($7, '') END "
            "FROM inserted"
        )
        return cls(
            schema=schema,
            append=f"SELECT * FROM {s}.append_events($1, $2, $3, $4, $5, $6, $7)",
            append_one=f"SELECT * FROM {s}.append_event($1, $2, $3, $4, $5, $6, $7)",
            # One event with an exact expected version: no function call. The
            # stream's row is updated only if it holds version $2 (a writer
            # that waited for its lock checks the committed row again), and
            # the event is inserted only from the row that update returned,
            # so a mismatch returns no row and draws no global_position. $7:
            # the channel to NOTIFY in the same transaction, or NULL.
            append_next=(
                f"WITH claimed AS (UPDATE {s}.streams SET version = $2 + 1 "
                f"WHERE stream_id = $1 AND {holds('$2', 'version')} RETURNING version) "
                f"{insert_one}"
            ),
            # The same for a new stream ($2 = 0): the row is created, or taken
            # over when it says 0 (claimed by an append that wrote nothing).
            append_new=(
                f"WITH claimed AS (INSERT INTO {s}.streams AS current (stream_id, version) "
                "VALUES ($1, $2 + 1) ON CONFLICT (stream_id) DO UPDATE "
                f"SET version = EXCLUDED.version WHERE {holds('$2', 'current.version')} "
                "RETURNING version) "
                f"{insert_one}"
            ),
            # The same two for a batch (arrays $3-$6, in order): one result
            # row, position NULL when the stream's row did not match.
            append_next_many=(
                f"WITH claimed AS (UPDATE {s}.streams SET version = $2 + cardinality($3::uuid[]) "
                f"WHERE stream_id = $1 AND {holds('$2', 'version')} RETURNING $2 AS base), "
                f"{insert_many}"
            ),
            append_new_many=(
                f"WITH claimed AS (INSERT INTO {s}.streams AS current (stream_id, version) "
                "VALUES ($1, $2 + cardinality($3::uuid[])) ON CONFLICT (stream_id) DO UPDATE "
                f"SET version = EXCLUDED.version WHERE {holds('$2', 'current.version')} "
                "RETURNING $2 AS base), "
                f"{insert_many}"
            ),
            append_group=f"SELECT * FROM {s}.append_group($1, $2, $3, $4, $5, $6, $7)",
            # A group whose appends all name an exact expected version, each
            # a stream of its own ($1 stream ids, $2 expected versions, $3
            # event counts; events flattened: $4 the append each belongs to
            # (1-based), $5 its place in that append, $6-$9 as append_events).
            # The same claim as append_next/append_new, for every stream at
            # once: existing rows updated, new ones created, each only if it
            # holds the expected version, both walking the streams in id
            # order so that two groups take their rows in the same order (a
            # deadlock all the same fails the statement, and the group
            # committer then sends each append alone); events inserted only
            # for the streams claimed. One row per append, in order:
            # (conflict, version, transaction id, position); a conflict's
            # version is NULL (the append that conflicted reads it).
            append_group_exact=(
                "WITH g AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::integer[]) "
                "WITH ORDINALITY AS g(stream_id, code, n, i)), "
                f"updated AS (UPDATE {s}.streams AS current SET version = g.code + g.n "
                "FROM (SELECT * FROM g WHERE g.code > 0 ORDER BY g.stream_id) AS g "
                f"WHERE current.stream_id = g.stream_id AND {holds('g.code', 'current.version')} "
                "RETURNING g.i, g.code AS base), "
                f"created AS (INSERT INTO {s}.streams AS current (stream_id, version) "
                "SELECT g.stream_id, g.n FROM g WHERE g.code = 0 ORDER BY g.stream_id "
                "ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version "
                f"WHERE {holds('0', 'current.version')} RETURNING current.stream_id), "
                "claimed AS (SELECT i, base FROM updated UNION ALL "
                "SELECT g.i, 0 FROM created JOIN g USING (stream_id)), "
                f"inserted AS (INSERT INTO {s}.events "
                "(event_id, stream_id, version, event_type, data, metadata) "
                "SELECT e.event_id, g.stream_id, claimed.base + e.k, e.event_type, "
                "e.data::jsonb, e.metadata::jsonb "
                "FROM unnest($4::integer[], $5::integer[], $6::uuid[], $7::text[], $8::text[], "
                "$9::text[]) AS e(owner, k, event_id, event_type, data, metadata) "
                "JOIN claimed ON claimed.i = e.owner JOIN g ON g.i = e.owner "
                "ORDER BY e.owner, e.k RETURNING stream_id, global_position) "
                "SELECT claimed.i IS NULL, "
                "CASE WHEN claimed.i IS NOT NULL THEN g.code + g.n END, "
                "CASE WHEN claimed.i IS NOT NULL THEN pg_current_xact_id() END, last.position "
                "FROM g LEFT JOIN claimed ON claimed.i = g.i LEFT JOIN "
                "(SELECT stream_id, max(global_position) AS position FROM inserted "
                "GROUP BY stream_id) AS last ON last.stream_id = g.stream_id ORDER BY g.i"
            ),
            stream_version=(
                f"SELECT version FROM {s}.events WHERE stream_id = $1 ORDER BY version DESC LIMIT 1"
            ),
            read_stream=(
                f"SELECT {_COLUMNS} FROM {s}.events WHERE stream_id = $1 AND version >= $2 "
                "ORDER BY version LIMIT $3"
            ),
            read_all=f"SELECT {_COLUMNS} FROM {s}.events WHERE {after} AND {_BELOW_XMIN} {order}",
            read_all_types=(
                f"SELECT {_COLUMNS} FROM {s}.events WHERE {after} AND {_BELOW_XMIN} "
                f"AND event_type = ANY($4::text[]) {order}"
            ),
            read_category=(
                f"SELECT {_COLUMNS} FROM {s}.events WHERE category = $4 AND {after} "
                f"AND {_BELOW_XMIN} {order}"
            ),
            read_category_types=(
                f"SELECT {_COLUMNS} FROM {s}.events WHERE category = $4 AND {after} "
                f"AND {_BELOW_XMIN} AND event_type = ANY($5::text[]) {order}"
            ),
            head_position=(
                f"SELECT transaction_id, global_position FROM {s}.events WHERE {_BELOW_XMIN} "
                "ORDER BY transaction_id DESC, global_position DESC LIMIT 1"
            ),
            held_back=held_back(""),
            held_back_types=held_back("AND event_type = ANY($3::text[]) "),
            held_back_category=held_back("AND category = $3 "),
            held_back_category_types=held_back(
                "AND category = $3 AND event_type = ANY($4::text[]) "
            ),
            xmin="SELECT pg_snapshot_xmin(pg_current_snapshot())",
            by_event_ids=(f"SELECT {_COLUMNS} FROM {s}.events WHERE event_id = ANY($1::uuid[])"),
            save_snapshot=(
                f"INSERT INTO {s}.snapshots AS current "
                "(stream_id, version, state_schema, data) VALUES ($1, $2, $3, $4::text::jsonb) "
                "ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, "
                "state_schema = EXCLUDED.state_schema, data = EXCLUDED.data, "
                "recorded_at = now() WHERE current.version <= EXCLUDED.version"
            ),
            load_snapshot=(
                f"SELECT stream_id, version, state_schema, data::text, recorded_at "
                f"FROM {s}.snapshots WHERE stream_id = $1"
            ),
            load_checkpoint=(
                f"SELECT transaction_id, global_position FROM {s}.subscription_checkpoints "
                "WHERE subscription_id = $1"
            ),
            save_checkpoint=(
                f"INSERT INTO {s}.subscription_checkpoints "
                "(subscription_id, transaction_id, global_position) VALUES ($1, $2, $3) "
                "ON CONFLICT (subscription_id) DO UPDATE SET "
                "transaction_id = EXCLUDED.transaction_id, "
                "global_position = EXCLUDED.global_position, updated_at = now()"
            ),
            save_checkpoint_if=(
                "SELECT saved, transaction_id, global_position "
                f"FROM {s}.save_checkpoint_if($1, $2, $3, $4, $5)"
            ),
            acquire_lease=f"SELECT granted, holder FROM {s}.acquire_lease($1, $2, $3)",
            release_lease=f"SELECT {s}.release_lease($1, $2)",
            lease_holders=(
                f"SELECT name, owner FROM {s}.subscription_leases "
                "WHERE starts_with(name, $1) AND expires_at > clock_timestamp()"
            ),
            delete_checkpoint=(
                f"DELETE FROM {s}.subscription_checkpoints WHERE subscription_id = $1"
            ),
            # One page of the streams after the stream id $1, from the
            # streams table (one row per stream, its primary key in the
            # database's collation); version 0 is a stream an append claimed
            # without writing an event.
            list_streams=(
                f"SELECT stream_id, version FROM {s}.streams WHERE stream_id > $1 "
                "AND version > 0 ORDER BY stream_id LIMIT $2"
            ),
            list_category_streams=(
                f"SELECT stream_id, version FROM {s}.streams WHERE stream_id > $1 "
                "AND version > 0 AND split_part(stream_id, '-', 1) = $3 "
                "ORDER BY stream_id LIMIT $2"
            ),
            list_checkpoints=(
                "SELECT subscription_id, transaction_id, global_position "
                f"FROM {s}.subscription_checkpoints"
            ),
        )

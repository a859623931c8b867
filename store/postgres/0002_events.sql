-- 0002: the append-only event log.
--
-- global_position is the event's unique int (BIGSERIAL). It is NOT the order
-- readers follow: sequence values are drawn at insert time, so concurrent
-- transactions commit out of sequence order. Readers order by
-- (transaction_id, global_position) and only deliver rows whose writing
-- transaction is older than every transaction still running; see
-- docs/postgres.md, "The global order". transaction_id is the writing
-- transaction's id (xid8, never wraps around), filled in by the default.
-- category is the part of stream_id before its first '-', computed by the
-- database so that it can never disagree with the stream id.
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS events (
    global_position bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL,
    stream_id text NOT NULL,
    category text NOT NULL GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
    version integer NOT NULL,
    event_type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, version),
    CONSTRAINT events_version_positive CHECK (version >= 1)
);

COMMENT ON TABLE events IS
    'eventsourcing-kit: append-only event log; UPDATE, DELETE and TRUNCATE are rejected.';
COMMENT ON COLUMN events.transaction_id IS
    'pg_current_xact_id() of the writing transaction: the first key of the global order.';

-- The raw reference table: the columns, constraints and reader indexes of
-- the kit's events table (store/postgres/0002_events.sql and
-- 0003_events_indexes.sql), written out here so that the reference does not
-- move when the kit's migrations do. Raw INSERTs into it cost what the
-- kit's table costs and nothing else: the kit measured against it shows
-- what its version check, its client and its ordering add.
-- Left out on purpose: the `streams` table (part of the kit's check, not of
-- its table) and the append-only trigger (it fires on UPDATE, DELETE and
-- TRUNCATE only, never on an INSERT).
-- Runs with search_path set to the benchmark's fresh schema.

CREATE TABLE events (
    global_position bigserial PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    event_id uuid NOT NULL UNIQUE,
    stream_id text NOT NULL,
    category text NOT NULL GENERATED ALWAYS AS (split_part(stream_id, '-', 1)) STORED,
    version integer NOT NULL CHECK (version >= 1),
    event_type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);

CREATE INDEX ON events (transaction_id, global_position);
CREATE INDEX ON events (category, transaction_id, global_position);
CREATE INDEX ON events (event_type, transaction_id, global_position);

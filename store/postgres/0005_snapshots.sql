-- 0005: one snapshot per stream, its latest.
--
-- state_schema names the shape of data; a reader whose aggregate class has
-- another shape ignores the snapshot and replays the events.
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS snapshots (
    stream_id text PRIMARY KEY,
    version integer NOT NULL CHECK (version >= 0),
    state_schema text NOT NULL,
    data jsonb NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- The bare floor: the same columns as the raw reference table
-- (_pg_raw_table.sql) without the kit's ordering column, its generated
-- category and its reader indexes. Only the constraints any event table
-- needs: a bigserial key, a unique event id, UNIQUE (stream_id, version).
-- Reported beside the reference, to show what the kit's table itself costs.
-- Runs with search_path set to the benchmark's fresh schema.

CREATE TABLE events (
    global_position bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    stream_id text NOT NULL,
    version integer NOT NULL,
    event_type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream_id, version)
);

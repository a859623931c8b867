-- The raw reference's snapshots: one row per stream, its latest state, as
-- the kit keeps them (store/postgres). Beside _pg_raw_table.sql's events
-- table in the load scenarios' fresh schema (search_path set to it).

CREATE TABLE snapshots (
    stream_id text PRIMARY KEY,
    version integer NOT NULL,
    data jsonb NOT NULL
);

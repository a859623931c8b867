-- The latest snapshot of a stream (one row per stream; a newer one replaces it).
CREATE TABLE snapshots (
    stream_id     TEXT    PRIMARY KEY,
    version       INTEGER NOT NULL,
    state_schema  TEXT    NOT NULL,  -- the shape of data; another shape is ignored on load
    data          TEXT    NOT NULL,  -- JSON object
    recorded_at   TEXT    NOT NULL   -- UTC, ISO 8601
) WITHOUT ROWID;

-- The raw reference for the SQLite growth curve: the columns, constraints
-- and indexes of the kit's events table (store/sqlite/002_events.sql),
-- written out here so that the reference does not move with the kit's
-- migrations. Left out: the append-only triggers (they fire on UPDATE and
-- DELETE, never on INSERT).

CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    category        TEXT    NOT NULL,
    version         INTEGER NOT NULL CHECK (version >= 1),
    event_type      TEXT    NOT NULL,
    data            TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    event_id        BLOB    NOT NULL CHECK (length(event_id) = 16),
    recorded_at     TEXT    NOT NULL,
    CONSTRAINT events_stream_version UNIQUE (stream_id, version),
    CONSTRAINT events_event_id UNIQUE (event_id)
);

CREATE INDEX events_category_position ON events (category, global_position);

CREATE INDEX events_type_position ON events (event_type, global_position);

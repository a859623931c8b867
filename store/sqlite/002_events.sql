-- The append-only log of every stream.
--
-- global_position is the rowid (INTEGER PRIMARY KEY), so a plain int is a
-- correct resume token here: SQLite lets one writer at a time hold the write
-- lock, every append takes it (BEGIN IMMEDIATE) before choosing its rowids
-- (max + 1), so rowid order is commit order. A reader that saw position n has
-- seen every committed event up to n, and anything committed later gets a
-- larger position: `WHERE global_position > ?` never skips an event.
-- (PostgreSQL needs more: see store/postgres/.)
-- Rows are never deleted (see the triggers below), so rowids are never reused.
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    stream_id       TEXT    NOT NULL,
    category        TEXT    NOT NULL,  -- stream_id up to its first '-'
    version         INTEGER NOT NULL CHECK (version >= 1),
    event_type      TEXT    NOT NULL,
    data            TEXT    NOT NULL,  -- JSON object; json_extract(data, '$.x') works
    metadata        TEXT    NOT NULL,  -- JSON object
    event_id        BLOB    NOT NULL CHECK (length(event_id) = 16),  -- UUID bytes
    recorded_at     TEXT    NOT NULL,  -- UTC, ISO 8601 with microseconds and +00:00
    CONSTRAINT events_stream_version UNIQUE (stream_id, version),
    CONSTRAINT events_event_id UNIQUE (event_id)
);

-- read_category pages by position within one category.
CREATE INDEX events_category_position ON events (category, global_position);

-- read_all / read_category filtered by event type.
CREATE INDEX events_type_position ON events (event_type, global_position);

-- Events are facts: the database itself refuses to change or remove them,
-- whatever the client. (The triggers also turn off DELETE's truncate
-- optimisation, so a bare `DELETE FROM events` is refused too.)
CREATE TRIGGER events_no_update
BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: UPDATE on table events is refused; append a new event that corrects the old one');
END;

CREATE TRIGGER events_no_delete
BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only: DELETE on table events is refused; append a new event that corrects the old one');
END;

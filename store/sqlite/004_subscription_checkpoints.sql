-- How far each named subscription has processed the global order (inclusive).
CREATE TABLE subscription_checkpoints (
    subscription_id  TEXT    PRIMARY KEY,
    position         INTEGER NOT NULL,  -- an events.global_position
    updated_at       TEXT    NOT NULL   -- UTC, ISO 8601
) WITHOUT ROWID;

-- Which files of store/sqlite/ a database file has had applied, so that
-- opening an existing file applies only the files added since. The kit
-- applies each file and records its name in one write transaction.
CREATE TABLE schema_migrations (
    name        TEXT PRIMARY KEY,
    applied_at  TEXT NOT NULL  -- UTC, ISO 8601
) WITHOUT ROWID;

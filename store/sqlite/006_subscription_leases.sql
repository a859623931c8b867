-- Which runner of each subscription is the active one, until when.
-- The kit takes and renews a lease inside BEGIN IMMEDIATE (the file's write
-- lock), so reading the holder and writing the new one is atomic across
-- processes. expires_at is the wall clock of the machine that shares the
-- file (every process reads the same clock).
CREATE TABLE subscription_leases (
    name        TEXT PRIMARY KEY,
    owner       TEXT NOT NULL,
    expires_at  REAL NOT NULL  -- seconds since the epoch, UTC
) WITHOUT ROWID;

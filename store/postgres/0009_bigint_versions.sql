-- 0009: stream versions are bigint (64 bits) in every table.
--
-- 0002, 0005 and 0007 stored versions as integer, which stops a stream at
-- 2^31 - 1 events, while the kit's positions and the Python side are
-- 64-bit. 0010 gives the append functions bigint parameters and results to
-- match.
--
-- What it costs: integer to bigint is not a binary-compatible change, so
-- PostgreSQL rewrites each table in full and rebuilds every index on it,
-- holding an ACCESS EXCLUSIVE lock until the migration commits: every read
-- and append of the store waits for it. The rewrite needs free disk for a
-- second copy of the table and its indexes, and writes about as much WAL
-- (which replicas replay). On an events table of millions of rows that is
-- a maintenance window: run `eventsourcing-kit migrate` while the
-- application is stopped, rather than letting a store open with
-- migrate=True apply it (a statement_timeout on the store's pool would
-- cancel it; nothing is changed then). streams and snapshots hold one row
-- per stream and rewrite faster.
--
-- The constraints (UNIQUE (stream_id, version), the CHECKs) and the indexes
-- of 0003 are rebuilt with the table and the append-only trigger of 0004
-- is kept: a rewrite is not an UPDATE and fires no trigger.
-- Safe to run again: a column that is bigint already stays as it is.

ALTER TABLE events ALTER COLUMN version TYPE bigint;

ALTER TABLE streams ALTER COLUMN version TYPE bigint;

ALTER TABLE snapshots ALTER COLUMN version TYPE bigint;

-- 0001: the kit's schema and the record of applied migrations.
--
-- Every file in this folder runs with `search_path` set to exactly the target
-- schema (one quoted identifier, e.g. SET search_path TO "eventsourcing") and
-- names its objects unqualified, so the same files install the kit into any
-- schema. The migration runner (`eventsourcing-kit migrate`) sets it; a DBA
-- applying the files by hand does `SET search_path TO myschema;` first.
-- Idempotent: safe to run again.

DO $$
BEGIN
    -- The search_path holds one quoted identifier: it names the schema to create.
    EXECUTE 'CREATE SCHEMA IF NOT EXISTS ' || current_setting('search_path');
END
$$;

CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE schema_migrations IS
    'eventsourcing-kit: one row per applied store/postgres/*.sql file (name, sha256).';

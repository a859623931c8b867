-- 0007: the streams table, lock_stream(), append_events() and append_event().
--
-- streams holds each stream's current version, one row per stream. It is
-- what serializes writers of one stream: an append locks its stream's row
-- (UPDATE, or SELECT ... FOR UPDATE) and holds it until its transaction
-- ends. Under READ COMMITTED a writer that waited for the row reads it
-- again once the holder has committed, so the version check cannot race;
-- writers of other streams never wait (no table lock). A row may say
-- version 0: a stream that an append claimed but wrote nothing to.
--
-- The store's common append (an exact expected version, one event or a
-- batch, on its own connection) does not call a function at all: one
-- statement updates (or creates) the stream's row only if it holds the
-- expected version and inserts the events from what that returned (see
-- eventsourcing_kit/stores/_postgres_queries.py, append_next and its kin).
-- A mismatch updates nothing and inserts nothing: no global_position is
-- drawn for a losing writer, and nothing fails on the server.
--
-- append_events() takes a batch as arrays (and every expected-version
-- code); append_event() is the same for one event with scalar parameters.
-- Both return (conflict, stream_version, transaction_id, global_position).
-- p_expected_version: >= 0 the exact version (0: no stream yet), -1 any,
-- -2 the stream must exist. p_notify_channel: NOTIFY it inside the
-- transaction, or NULL for none. In order:
-- 1. Lock the stream's row and read its version: lock_stream(), which
--    creates the row at version 0 if it is missing (ON CONFLICT DO NOTHING
--    waits for a concurrent creator, then the second SELECT ... FOR UPDATE
--    reads what it committed). append_group() (0008) uses it too.
-- 2. Check the version. A mismatch returns conflict = true with the actual
--    version, BEFORE any INSERT into events.
-- 3. Look up the batch's first event id; if it is stored, the append is a
--    retry (or reuses an id) and is returned as a conflict too. The store
--    resolves every conflict the same way (stores/_validation.resolve_retry):
--    the original result for a retry, DuplicateEventError for a reused id.
--    Reaching the INSERT instead would stop on the unique index, and a
--    unique violation aborts the transaction it happens in: on a caller's
--    connection (append_events(..., connection=conn)) the caller's whole
--    transaction. Only the first id is looked up, with one equality on the
--    unique key: an index probe at any table size (`event_id = ANY(ids)`
--    is not: plpgsql caches a generic plan, and one made while the table is
--    young is a sequential scan that stays cached as it grows).
-- 4. Insert the events and set the stream's row to the new version.
-- Under REPEATABLE READ or SERIALIZABLE (a caller's own transaction) a row
-- changed since the snapshot makes PostgreSQL raise a serialization
-- failure instead: the store reports it as a ConcurrencyError.
--
-- The bodies name the kit's tables with the schema written in when this
-- file runs (current_schema(): the migration runner sets search_path to
-- exactly the target schema, as a DBA applying it by hand does with SET
-- search_path TO myschema), quoted by format('%I'). So the functions need no
-- search_path and never resolve a caller's own `events`. A SET search_path
-- clause on the function would do the same at a price: PostgreSQL saves,
-- sets and restores it around every call (about 25-30 us of server CPU per
-- append, benchmarks/append_forms.py).
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS streams (
    stream_id text PRIMARY KEY,
    version integer NOT NULL,
    CONSTRAINT streams_version_not_negative CHECK (version >= 0)
);

COMMENT ON TABLE streams IS
    'eventsourcing-kit: each stream''s version; its row lock serializes the stream''s writers.';

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0007';
    END IF;
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I.lock_stream(p_stream_id text) RETURNS integer
LANGUAGE plpgsql
VOLATILE
AS $body$
DECLARE
    v_version integer;
BEGIN
    SELECT s.version INTO v_version
    FROM %1$I.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO %1$I.streams AS s (stream_id, version) VALUES (p_stream_id, 0)
        ON CONFLICT (stream_id) DO NOTHING;
        SELECT s.version INTO v_version
        FROM %1$I.streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    END IF;
    RETURN v_version;
END
$body$
$function$, current_schema());
END
$migration$;

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0007';
    END IF;
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I.append_events(
    p_stream_id text,
    p_expected_version integer,
    p_event_ids uuid[],
    p_event_types text[],
    p_data text[],
    p_metadata text[],
    p_notify_channel text DEFAULT NULL
) RETURNS TABLE (
    conflict boolean,
    stream_version integer,
    transaction_id xid8,
    global_position bigint
)
LANGUAGE plpgsql
VOLATILE
AS $body$
#variable_conflict use_column
DECLARE
    v_current integer;
BEGIN
    v_current := %1$I.lock_stream(p_stream_id);

    IF (p_expected_version >= 0 AND v_current <> p_expected_version)
       OR (p_expected_version = -2 AND v_current = 0) THEN
        RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;

    -- An id already stored: a retry (or a reused id). Reported like a
    -- conflict, so no unique violation aborts a caller's transaction.
    IF EXISTS (SELECT 1 FROM %1$I.events e WHERE e.event_id = p_event_ids[1]) THEN
        RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO %1$I.events (event_id, stream_id, version, event_type, data, metadata)
        SELECT u.event_id, p_stream_id, v_current + u.n::integer, u.event_type,
               u.data::jsonb, u.metadata::jsonb
        FROM unnest(p_event_ids, p_event_types, p_data, p_metadata)
             WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
        ORDER BY u.n
        RETURNING events.global_position
    )
    SELECT false, v_current + cardinality(p_event_ids), pg_current_xact_id(),
           max(inserted.global_position)
    FROM inserted;

    UPDATE %1$I.streams AS s SET version = v_current + cardinality(p_event_ids)
    WHERE s.stream_id = p_stream_id;

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$body$
$function$, current_schema());
END
$migration$;

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0007';
    END IF;
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I.append_event(
    p_stream_id text,
    p_expected_version integer,
    p_event_id uuid,
    p_event_type text,
    p_data text,
    p_metadata text,
    p_notify_channel text DEFAULT NULL,
    OUT conflict boolean,
    OUT stream_version integer,
    OUT transaction_id xid8,
    OUT global_position bigint
)
LANGUAGE plpgsql
VOLATILE
AS $body$
DECLARE
    v_current integer;
BEGIN
    v_current := %1$I.lock_stream(p_stream_id);

    IF (p_expected_version >= 0 AND v_current <> p_expected_version)
       OR (p_expected_version = -2 AND v_current = 0) THEN
        conflict := true;
        stream_version := v_current;
        RETURN;
    END IF;

    -- An id already stored: a retry (or a reused id). Reported like a
    -- conflict, so no unique violation aborts a caller's transaction.
    IF EXISTS (SELECT 1 FROM %1$I.events e WHERE e.event_id = p_event_id) THEN
        conflict := true;
        stream_version := v_current;
        RETURN;
    END IF;

    INSERT INTO %1$I.events AS e (event_id, stream_id, version, event_type, data, metadata)
    VALUES (p_event_id, p_stream_id, v_current + 1, p_event_type, p_data::jsonb,
            p_metadata::jsonb)
    RETURNING e.global_position, e.transaction_id INTO global_position, transaction_id;
    conflict := false;
    stream_version := v_current + 1;

    UPDATE %1$I.streams AS s SET version = v_current + 1 WHERE s.stream_id = p_stream_id;

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$body$
$function$, current_schema());
END
$migration$;

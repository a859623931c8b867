-- 0007: append_events() and append_event(), the whole append in one round trip.
--
-- append_events() takes a batch as arrays; append_event() is the same append
-- for one event (the common case: one command, one event) with scalar
-- parameters and OUT columns, which spares building and unnesting four
-- one-element arrays (at 16 writers about 50 us less server CPU per append,
-- benchmarks/append_forms.py). Both return (conflict, stream_version,
-- transaction_id, global_position). p_expected_version: >= 0 the exact
-- version (0: no stream yet), -1 any, -2 the stream must exist.
-- p_notify_channel: NOTIFY it inside the transaction, or NULL for none.
--
-- Concurrency, in order:
-- 1. A transaction-scoped advisory lock keyed by the stream id serializes
--    writers of the same stream (writers of other streams never wait: no
--    table lock). It is held until the calling transaction ends.
-- 2. Only then is the stream's version read. The functions are VOLATILE, so
--    under READ COMMITTED this SELECT takes a fresh snapshot and sees the
--    commit of the writer that held the lock before: the check cannot race.
--    Under REPEATABLE READ or SERIALIZABLE (a caller's own transaction) it
--    may read an old snapshot; the UNIQUE (stream_id, version) key still
--    stops the duplicate and the kit reports it as a ConcurrencyError.
-- 3. A mismatch returns conflict = true with the actual version BEFORE the
--    INSERT, so a losing writer draws no global_position: no hole appears
--    that a reader could mistake for an event in flight.
-- 4. Then the batch's first event id is looked up; if it is stored, the
--    append is a retry (or reuses an id) and is returned as a conflict too,
--    before the INSERT. The store resolves every conflict the same way
--    (stores/_validation.resolve_retry): the original result for a retry,
--    DuplicateEventError for a reused id. Reaching the INSERT instead would
--    stop on the unique index, and a unique violation aborts the transaction
--    it happens in: on a caller's connection (append_events(...,
--    connection=conn)) the caller's whole transaction. The unique index
--    stays the last line of defence (an id inserted by a transaction not yet
--    committed; a later id of the batch reused: no retry, an error either
--    way), and the store then says the caller's transaction is aborted.
--    Only the first id is looked up, with one equality on the unique key:
--    an index probe at any table size. `event_id = ANY(ids)` is not: plpgsql
--    caches a generic plan, and one made while the table is young is a
--    sequential scan that stays cached as it grows (3 ms per 100-event
--    append at 5,000 rows).
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
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

    SELECT e.version INTO v_current
    FROM %1$I.events e
    WHERE e.stream_id = p_stream_id
    ORDER BY e.version DESC
    LIMIT 1;
    v_current := coalesce(v_current, 0);

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
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

    SELECT e.version INTO v_current
    FROM %1$I.events e
    WHERE e.stream_id = p_stream_id
    ORDER BY e.version DESC
    LIMIT 1;
    v_current := coalesce(v_current, 0);

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

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$body$
$function$, current_schema());
END
$migration$;

-- 0010: append_events() and append_event() look their event ids up before
-- inserting.
--
-- Until now a retry whose ids were already stored (ExpectedVersion.ANY, or a
-- stream that already holds the retried events at the expected version)
-- reached the INSERT and was stopped by the unique index on event_id. A
-- unique violation aborts the transaction it happens in: harmless for the
-- store's own one-statement transactions, but on a caller's connection
-- (append_events(..., connection=conn)) the caller's transaction was aborted
-- while the store reported the retry as a success, and the caller's COMMIT
-- silently rolled all its writes back.
--
-- Both functions now check, after the stream lock and the version check,
-- whether any of the ids is stored (visible to this statement: committed, or
-- written earlier by the same transaction) and then return conflict = true
-- with the stream's version, like a version mismatch, BEFORE inserting. The
-- store resolves it as it resolves every conflict (stores/_validation
-- resolve_retry): the original result for a retry, DuplicateEventError for
-- an id reused elsewhere, and nothing has failed on the server. The unique
-- index stays as the last line of defence, for ids that another
-- transaction has inserted but not yet committed, and for REPEATABLE READ
-- snapshots older than the stored ids: the store then reports that the
-- caller's transaction is aborted (it never reports success).
--
-- Only the batch's first id is looked up. A retry stores nothing new, so
-- its first id is stored; a batch whose first id is new but a later one is
-- stored is no retry, and the unique index stops it (an error either way).
-- One equality on the unique key is an index probe whatever the table's
-- size: `event_id = ANY(ids)` is not, since plpgsql caches a generic plan and
-- one made while the table is young is a sequential scan that stays cached
-- as the table grows (3 ms per 100-event append at 5,000 rows).
--
-- Same arguments, results, lock and order of steps as 0008 and 0009
-- otherwise; the schema is written into the bodies at migration time.
-- Idempotent: safe to run again.

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0010';
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
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0010';
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

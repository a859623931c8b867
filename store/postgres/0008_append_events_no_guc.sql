-- 0008: append_events() without a per-call search_path change.
--
-- 0007 pinned the function's schema with SET search_path FROM CURRENT. A SET
-- clause makes PostgreSQL save, set and restore the setting around every
-- call (and recompute the namespace search path each time): about 25-30 us
-- of server CPU per append, 12 % of the whole append's server CPU
-- (benchmarks/append_forms.py, forms plpgsql_0007 and plpgsql_no_set; see
-- benchmarks/results/postgres.md). This file replaces the function by the
-- same one (same arguments, result and concurrency steps: see 0007) whose
-- body names the kit's tables with the schema written in, so it needs no
-- search_path at all and still never resolves a caller's own `events`.
--
-- The schema is the one this file runs in (current_schema(): the migration
-- runner sets search_path to exactly the target schema, as a DBA applying it
-- by hand does with SET search_path TO myschema), quoted by format('%I').
-- Functions, operators and types come from pg_catalog, which is searched
-- first whatever the caller's search_path (unless the caller lists it
-- explicitly after another schema).
-- Idempotent: safe to run again.

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0008';
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

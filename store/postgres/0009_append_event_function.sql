-- 0009: append_event(), the one-event append with scalar parameters.
--
-- Most appends carry one event (one command, one event). For them the
-- array form of append_events() pays for building and unnesting four
-- one-element arrays, for RETURN QUERY's result set, and asyncpg pays for
-- encoding the arrays element by element. Measured on raw connections
-- (benchmarks/append_forms.py, forms plpgsql_no_set and plpgsql_scalar_one;
-- see benchmarks/results/postgres.md): at 16 writers about 50 us less server
-- CPU per append (206 -> 156 us) and 8 us less client CPU.
--
-- Same arguments (one event instead of arrays), same result columns and the
-- same concurrency steps as append_events() (0007, 0008): the advisory lock
-- on the stream, then the version read in a fresh snapshot, and a mismatch
-- returned BEFORE the INSERT, so a losing writer draws no global_position.
-- Like 0008 its body names the kit's tables with the schema written in
-- (current_schema() when this file runs), so it needs no search_path.
-- Idempotent: safe to run again.

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0009';
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

-- Variants of the append, for benchmarks/append_forms.py only (never migrated).
-- Created in a scratch schema beside the kit's own migrated tables; every
-- variant has the signature and result of the kit's append_events().

-- B: plpgsql, the version check folded into the INSERT (one statement after
-- the lock instead of two); on a mismatch nothing is inserted and a second
-- SELECT reads the actual version.
CREATE FUNCTION append_b(
    p_stream_id text, p_expected_version integer, p_event_ids uuid[],
    p_event_types text[], p_data text[], p_metadata text[], p_notify_channel text DEFAULT NULL
) RETURNS TABLE (conflict boolean, stream_version integer, transaction_id xid8, global_position bigint)
LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
#variable_conflict use_column
DECLARE
    v_last bigint;
    v_version integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));
    WITH cur AS (
        SELECT coalesce((SELECT e.version FROM events e WHERE e.stream_id = p_stream_id
                         ORDER BY e.version DESC LIMIT 1), 0) AS v
    ), ins AS (
        INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
        SELECT u.event_id, p_stream_id, cur.v + u.n::integer, u.event_type,
               u.data::jsonb, u.metadata::jsonb
        FROM cur, unnest(p_event_ids, p_event_types, p_data, p_metadata)
             WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
        WHERE NOT ((p_expected_version >= 0 AND cur.v <> p_expected_version)
                   OR (p_expected_version = -2 AND cur.v = 0))
        ORDER BY u.n
        RETURNING events.global_position, events.version
    )
    SELECT max(ins.global_position), max(ins.version) INTO v_last, v_version FROM ins;
    IF v_last IS NULL THEN
        SELECT coalesce(max(e.version), 0) INTO v_version FROM events e
        WHERE e.stream_id = p_stream_id;
        RETURN QUERY SELECT true, v_version, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT false, v_version, pg_current_xact_id(), v_last;
END
$$;

-- C: LANGUAGE sql, two statements (a VOLATILE SQL function takes a new
-- snapshot per statement, so the second sees the previous lock holder's commit).
CREATE FUNCTION append_c(
    p_stream_id text, p_expected_version integer, p_event_ids uuid[],
    p_event_types text[], p_data text[], p_metadata text[], p_notify_channel text DEFAULT NULL
) RETURNS TABLE (conflict boolean, stream_version integer, transaction_id xid8, global_position bigint)
LANGUAGE sql VOLATILE SET search_path FROM CURRENT AS $$
    SELECT pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));
    WITH cur AS (
        SELECT coalesce((SELECT e.version FROM events e WHERE e.stream_id = p_stream_id
                         ORDER BY e.version DESC LIMIT 1), 0) AS v
    ), ok AS (
        SELECT cur.v FROM cur
        WHERE NOT ((p_expected_version >= 0 AND cur.v <> p_expected_version)
                   OR (p_expected_version = -2 AND cur.v = 0))
    ), ins AS (
        INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
        SELECT u.event_id, p_stream_id, ok.v + u.n::integer, u.event_type,
               u.data::jsonb, u.metadata::jsonb
        FROM ok, unnest(p_event_ids, p_event_types, p_data, p_metadata)
             WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
        ORDER BY u.n
        RETURNING events.global_position
    )
    SELECT NOT EXISTS (SELECT 1 FROM ok),
           (SELECT cur.v FROM cur) + CASE WHEN EXISTS (SELECT 1 FROM ok)
                                          THEN cardinality(p_event_ids) ELSE 0 END,
           CASE WHEN EXISTS (SELECT 1 FROM ok) THEN pg_current_xact_id() END,
           (SELECT max(ins.global_position) FROM ins);
$$;

-- E: the kit's array function as first written, without SET search_path FROM CURRENT (the
-- caller's search_path must then name the schema).
CREATE FUNCTION append_e(
    p_stream_id text, p_expected_version integer, p_event_ids uuid[],
    p_event_types text[], p_data text[], p_metadata text[], p_notify_channel text DEFAULT NULL
) RETURNS TABLE (conflict boolean, stream_version integer, transaction_id xid8, global_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_current integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));
    SELECT e.version INTO v_current FROM events e WHERE e.stream_id = p_stream_id
    ORDER BY e.version DESC LIMIT 1;
    v_current := coalesce(v_current, 0);
    IF (p_expected_version >= 0 AND v_current <> p_expected_version)
       OR (p_expected_version = -2 AND v_current = 0) THEN
        RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY
    WITH inserted AS (
        INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
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
END
$$;

-- F: one event, scalar parameters (no arrays, no unnest), OUT parameters and
-- INSERT ... RETURNING INTO instead of RETURN QUERY; schema-free body like E.
CREATE FUNCTION append_f(
    p_stream_id text, p_expected_version integer, p_event_id uuid,
    p_event_type text, p_data text, p_metadata text, p_notify_channel text DEFAULT NULL,
    OUT conflict boolean, OUT stream_version integer, OUT transaction_id xid8,
    OUT global_position bigint
)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_current integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));
    SELECT e.version INTO v_current FROM events e WHERE e.stream_id = p_stream_id
    ORDER BY e.version DESC LIMIT 1;
    v_current := coalesce(v_current, 0);
    IF (p_expected_version >= 0 AND v_current <> p_expected_version)
       OR (p_expected_version = -2 AND v_current = 0) THEN
        conflict := true;
        stream_version := v_current;
        RETURN;
    END IF;
    INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
    VALUES (p_event_id, p_stream_id, v_current + 1, p_event_type, p_data::jsonb,
            p_metadata::jsonb)
    RETURNING events.global_position, events.transaction_id
    INTO global_position, transaction_id;
    conflict := false;
    stream_version := v_current + 1;
END
$$;

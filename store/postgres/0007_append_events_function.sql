-- 0007: append_events(), the whole append in one round trip.
--
-- Concurrency, in order:
-- 1. A transaction-scoped advisory lock keyed by the stream id serializes
--    writers of the same stream (writers of other streams never wait: no
--    table lock). It is held until the calling transaction ends.
-- 2. Only then is the stream's version read. The function is VOLATILE, so
--    under READ COMMITTED this SELECT takes a fresh snapshot and sees the
--    commit of the writer that held the lock before us: the check cannot race.
-- 3. A mismatch returns (conflict = true, the actual version) BEFORE the
--    INSERT, so a losing writer draws no global_position: no hole appears
--    that a reader could mistake for an event in flight.
-- Under REPEATABLE READ or SERIALIZABLE (a caller's own transaction) step 2
-- may read an old snapshot; the UNIQUE (stream_id, version) key still stops
-- the duplicate and the kit reports it as a ConcurrencyError.
--
-- p_expected_version: >= 0 the exact version (0: no stream yet), -1 any,
-- -2 the stream must exist. p_notify_channel: NOTIFY this channel inside the
-- transaction (delivered at commit), or NULL for no notification.
--
-- SET search_path FROM CURRENT pins the schema the function was created in,
-- whatever the caller's search_path is.
-- Idempotent: safe to run again.

CREATE OR REPLACE FUNCTION append_events(
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
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    v_current integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

    SELECT e.version INTO v_current
    FROM events e
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

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$$;

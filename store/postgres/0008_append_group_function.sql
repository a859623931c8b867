-- 0008: append_group(), several streams' appends in one transaction.
--
-- Used by default (PostgresEventStore option group_commit=True). When
-- appends from tasks of one process queue up behind one in flight, the
-- store sends them together: one round trip, one transaction, one commit
-- for all of them, instead of one of each per append. Nothing waits to fill
-- a group: only appends already queued are sent together. A group whose
-- appends all name an exact expected version, each on a stream of its own
-- (the common group), does not call this function: one statement claims
-- its streams' rows and inserts their events (Queries.append_group_exact in
-- eventsourcing_kit/stores/_postgres_queries.py). This function serves the
-- other groups: ANY or STREAM_EXISTS, or one stream twice.
--
-- Arguments: for stream i (1-based) of the group, p_stream_ids[i],
-- p_expected[i] (the same codes as append_events: -1 any, -2 stream exists,
-- 0 no stream, n > 0 that version) and p_counts[i] events, which are the next
-- p_counts[i] elements of the event arrays (in order). One result row per
-- stream, in the order given, with the columns of append_events().
--
-- Each stream's append is checked exactly as in append_events() (0007): the
-- version, then whether its first id is stored, both BEFORE its INSERT, so
-- a stream that does not match gets conflict = true and the others go on;
-- nothing fails on the server for a conflict or a retry. The rows of all
-- the group's streams in `streams` (0007) are locked first, in stream id
-- order, so two groups never deadlock on each other. A stream may appear
-- twice (two tasks appending to it): the second is checked against the
-- first's insert.
-- Every row of the group has the transaction's one id: the global order
-- (transaction_id, global_position) keeps each append's rows together.
-- The schema is written into the body at migration time (as in 0007).
-- Idempotent: safe to run again.

DO $migration$
BEGIN
    IF current_schema() IS NULL THEN
        RAISE EXCEPTION 'set search_path to the kit''s schema before applying 0008';
    END IF;
    EXECUTE format($function$
CREATE OR REPLACE FUNCTION %1$I.append_group(
    p_stream_ids text[],
    p_expected integer[],
    p_counts integer[],
    p_event_ids uuid[],
    p_event_types text[],
    p_data text[],
    p_metadata text[]
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
    v_stream text;
    v_expected integer;
    v_first integer := 1;
    v_last integer;
    v_position bigint;
    v_xid xid8;
BEGIN
    -- Every stream's row locked (created at version 0 if missing) before
    -- anything else, in stream id order: two groups never deadlock.
    PERFORM %1$I.lock_stream(u.s)
    FROM (SELECT DISTINCT s FROM unnest(p_stream_ids) AS s ORDER BY 1) AS u(s);

    FOR i IN 1 .. cardinality(p_stream_ids) LOOP
        v_stream := p_stream_ids[i];
        v_expected := p_expected[i];
        v_last := v_first + p_counts[i] - 1;

        SELECT s.version INTO v_current FROM %1$I.streams s WHERE s.stream_id = v_stream;

        IF (v_expected >= 0 AND v_current <> v_expected)
           OR (v_expected = -2 AND v_current = 0) THEN
            RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        ELSIF v_first = v_last THEN
            -- One event (the common case): scalar statements, as append_event(). With
            -- array slices both statements were planned again on every
            -- iteration (about 300 us per stream in a group).
            IF EXISTS (SELECT 1 FROM %1$I.events e WHERE e.event_id = p_event_ids[v_first]) THEN
                RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
            ELSE
                INSERT INTO %1$I.events AS e (event_id, stream_id, version, event_type, data,
                                              metadata)
                VALUES (p_event_ids[v_first], v_stream, v_current + 1, p_event_types[v_first],
                        p_data[v_first]::jsonb, p_metadata[v_first]::jsonb)
                RETURNING e.global_position, e.transaction_id INTO v_position, v_xid;
                UPDATE %1$I.streams AS s SET version = v_current + 1 WHERE s.stream_id = v_stream;
                RETURN QUERY SELECT false, v_current + 1, v_xid, v_position;
            END IF;
        ELSIF EXISTS (SELECT 1 FROM %1$I.events e WHERE e.event_id = p_event_ids[v_first]) THEN
            RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        ELSE
            RETURN QUERY
            WITH inserted AS (
                INSERT INTO %1$I.events (event_id, stream_id, version, event_type, data, metadata)
                SELECT u.event_id, v_stream, v_current + u.n::integer, u.event_type,
                       u.data::jsonb, u.metadata::jsonb
                FROM unnest(p_event_ids[v_first:v_last], p_event_types[v_first:v_last],
                            p_data[v_first:v_last], p_metadata[v_first:v_last])
                     WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
                ORDER BY u.n
                RETURNING events.global_position
            )
            SELECT false, v_current + p_counts[i], pg_current_xact_id(),
                   max(inserted.global_position)
            FROM inserted;
            UPDATE %1$I.streams AS s SET version = v_current + p_counts[i]
            WHERE s.stream_id = v_stream;
        END IF;
        v_first := v_last + 1;
    END LOOP;
END
$body$
$function$, current_schema());
END
$migration$;

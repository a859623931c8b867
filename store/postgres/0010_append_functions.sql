-- 0010: expected_version_holds(), lock_stream(), append_events(),
-- append_event() and append_group() as plain SQL, with bigint versions.
--
-- These are the current definitions of the functions that 0007 and 0008
-- first made. Those files built each body as a string (DO ... EXECUTE
-- format(...)) to write the schema's name into it; a released migration is
-- never edited, so this file replaces them. Two changes:
-- - Versions are bigint, as the columns are since 0009. A parameter's or a
--   result's type is part of a function's signature, so the integer
--   versions are dropped and the bigint ones created under the same names
--   (CREATE OR REPLACE would add an overload beside the old one, or refuse
--   a new result type).
-- - The bodies name the kit's tables unqualified, and each function keeps
--   the search_path it was created with (SET search_path FROM CURRENT): the
--   kit's schema, which the migration runner sets, then pg_temp. So a
--   function finds the kit's events and streams whatever the caller's
--   search_path is, and a caller's table of the same name, temporary ones
--   included, is never used instead. (A DBA applying the file by hand does
--   SET search_path TO myschema, then runs it in one transaction, psql
--   --single-transaction, as the runner does.) The price: PostgreSQL sets
--   and restores the setting around every call. Appends with an exact
--   expected version on the store's own connections, the repository's and
--   the common group's, call no function (one statement each,
--   eventsourcing_kit/stores/postgres/_queries.py).
--
-- The functions serve the appends that one statement does not: ANY or
-- STREAM_EXISTS, an append on a caller's connection, and a group commit
-- with one of those or with one stream twice. Expected-version codes, in
-- p_expected_version and p_expected: n >= 0 that exact version (0: no
-- stream yet), -1 any, -2 the stream must exist. Each returns, per append,
-- (conflict, stream_version, transaction_id, global_position).
--
-- Concurrency. streams (0007) holds each stream's version, one row per
-- stream; an append locks its stream's row and holds it until its
-- transaction ends. Under READ COMMITTED a writer that waited for the row
-- reads it again once the holder has committed, so the version check
-- cannot race; writers of other streams never wait (no table lock). Under
-- REPEATABLE READ or SERIALIZABLE (a caller's own transaction) a row
-- changed since the snapshot makes PostgreSQL raise a serialization
-- failure instead: the store reports it as a ConcurrencyError.
--
-- Conflicts and retries fail nothing on the server. The version is checked,
-- then whether the append's first event id is stored already (a retry
-- after a lost reply, or a reused id), both BEFORE the INSERT: either is
-- returned as conflict = true, and the store tells them apart
-- (stores/_validation.resolve_retry). Reaching the INSERT instead would stop
-- on the unique index, and a unique violation aborts the transaction it
-- happens in: on a caller's connection, the caller's whole transaction.
-- Only the first id is looked up, with one equality on the unique key: an
-- index probe at any table size (`event_id = ANY(ids)` is not: plpgsql
-- caches a generic plan, and one made while the table is young is a
-- sequential scan that stays cached as it grows).
--
-- Safe to run again.

-- The path the functions keep (SET search_path FROM CURRENT): this schema,
-- then pg_temp. set_config(..., true) lasts until the transaction ends; the
-- end of this file puts the schema alone back for the files after it.
SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

-- The integer signatures of 0007 and 0008.
DROP FUNCTION IF EXISTS lock_stream(text);
DROP FUNCTION IF EXISTS append_events(text, integer, uuid[], text[], text[], text[], text);
DROP FUNCTION IF EXISTS append_event(text, integer, uuid, text, text, text, text);
DROP FUNCTION IF EXISTS append_group(text[], integer[], integer[], uuid[], text[], text[], text[]);


-- expected_version_holds(): the expected-version rule, the one place the SQL
-- writes it (eventsourcing_kit.stores.driver.expected_version_holds is the
-- same rule in Python; a test holds the two together). Every append
-- statement and function asks it. p_actual: the stream's version, 0 for a
-- stream without events. Written as one SQL expression, IMMUTABLE and
-- without a SET clause, so that the planner inlines it where it is used:
-- asking it costs what writing the expression out would.
CREATE OR REPLACE FUNCTION expected_version_holds(p_expected bigint, p_actual bigint)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
AS $$
    SELECT CASE
        WHEN p_expected >= 0 THEN p_actual = p_expected
        WHEN p_expected = -2 THEN p_actual > 0
        ELSE true
    END
$$;


-- lock_stream(): lock the stream's row and return its version, creating the
-- row at version 0 if it is missing. A row at 0 is a stream that an append
-- claimed but wrote nothing to. ON CONFLICT DO NOTHING waits for a
-- concurrent creator; the second SELECT ... FOR UPDATE then reads what it
-- committed.
CREATE OR REPLACE FUNCTION lock_stream(p_stream_id text) RETURNS bigint
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    v_version bigint;
BEGIN
    SELECT s.version INTO v_version
    FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO streams AS s (stream_id, version) VALUES (p_stream_id, 0)
        ON CONFLICT (stream_id) DO NOTHING;
        SELECT s.version INTO v_version
        FROM streams s WHERE s.stream_id = p_stream_id FOR UPDATE;
    END IF;
    RETURN v_version;
END
$$;


-- append_events(): one stream's batch, the events as arrays in order.
-- p_notify_channel: NOTIFY it inside the transaction, or NULL for none.
CREATE OR REPLACE FUNCTION append_events(
    p_stream_id text,
    p_expected_version bigint,
    p_event_ids uuid[],
    p_event_types text[],
    p_data text[],
    p_metadata text[],
    p_notify_channel text DEFAULT NULL
) RETURNS TABLE (
    conflict boolean,
    stream_version bigint,
    transaction_id xid8,
    global_position bigint
)
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    v_current bigint;
BEGIN
    v_current := lock_stream(p_stream_id);

    IF NOT expected_version_holds(p_expected_version, v_current) THEN
        RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;

    -- An id already stored: a retry (or a reused id). Reported like a
    -- conflict, so no unique violation aborts a caller's transaction.
    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_ids[1]) THEN
        RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        RETURN;
    END IF;

    RETURN QUERY
    WITH inserted AS (
        INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
        SELECT u.event_id, p_stream_id, v_current + u.n, u.event_type,
               u.data::jsonb, u.metadata::jsonb
        FROM unnest(p_event_ids, p_event_types, p_data, p_metadata)
             WITH ORDINALITY AS u(event_id, event_type, data, metadata, n)
        ORDER BY u.n
        RETURNING events.global_position
    )
    SELECT false, v_current + cardinality(p_event_ids), pg_current_xact_id(),
           max(inserted.global_position)
    FROM inserted;

    UPDATE streams AS s SET version = v_current + cardinality(p_event_ids)
    WHERE s.stream_id = p_stream_id;

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$$;


-- append_event(): append_events() for one event, with scalar parameters
-- (no arrays to build, unnest and aggregate).
CREATE OR REPLACE FUNCTION append_event(
    p_stream_id text,
    p_expected_version bigint,
    p_event_id uuid,
    p_event_type text,
    p_data text,
    p_metadata text,
    p_notify_channel text DEFAULT NULL,
    OUT conflict boolean,
    OUT stream_version bigint,
    OUT transaction_id xid8,
    OUT global_position bigint
)
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
DECLARE
    v_current bigint;
BEGIN
    v_current := lock_stream(p_stream_id);

    IF NOT expected_version_holds(p_expected_version, v_current) THEN
        conflict := true;
        stream_version := v_current;
        RETURN;
    END IF;

    -- An id already stored: a retry (or a reused id). Reported like a
    -- conflict, so no unique violation aborts a caller's transaction.
    IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_id) THEN
        conflict := true;
        stream_version := v_current;
        RETURN;
    END IF;

    INSERT INTO events AS e (event_id, stream_id, version, event_type, data, metadata)
    VALUES (p_event_id, p_stream_id, v_current + 1, p_event_type, p_data::jsonb,
            p_metadata::jsonb)
    RETURNING e.global_position, e.transaction_id INTO global_position, transaction_id;
    conflict := false;
    stream_version := v_current + 1;

    UPDATE streams AS s SET version = v_current + 1 WHERE s.stream_id = p_stream_id;

    IF p_notify_channel IS NOT NULL THEN
        PERFORM pg_notify(p_notify_channel, '');
    END IF;
END
$$;


-- append_group(): several appends in one transaction (group commit: the
-- appends that queued up while one was in flight, sent in one round trip
-- and committed once). For append i (1-based): p_stream_ids[i],
-- p_expected[i] (a code as above) and p_counts[i] events, the next
-- p_counts[i] elements of the event arrays. One result row per append, in
-- the order given.
-- Each append is checked on its own, exactly as append_events() checks
-- one, so an append that does not match gets conflict = true and the
-- others go on. The rows of all the group's streams are locked first, in
-- stream id order, so two groups never deadlock on each other. A stream may
-- appear twice (two tasks appending to it): the second append is checked
-- against the first one's insert. Every row of the group has the
-- transaction's one id: the global order (transaction_id, global_position)
-- keeps each append's rows together.
CREATE OR REPLACE FUNCTION append_group(
    p_stream_ids text[],
    p_expected bigint[],
    p_counts integer[],
    p_event_ids uuid[],
    p_event_types text[],
    p_data text[],
    p_metadata text[]
) RETURNS TABLE (
    conflict boolean,
    stream_version bigint,
    transaction_id xid8,
    global_position bigint
)
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
DECLARE
    v_current bigint;
    v_stream text;
    v_expected bigint;
    v_first integer := 1;
    v_last integer;
    v_position bigint;
    v_xid xid8;
BEGIN
    PERFORM lock_stream(u.s)
    FROM (SELECT DISTINCT s FROM unnest(p_stream_ids) AS s ORDER BY 1) AS u(s);

    FOR i IN 1 .. cardinality(p_stream_ids) LOOP
        v_stream := p_stream_ids[i];
        v_expected := p_expected[i];
        v_last := v_first + p_counts[i] - 1;

        SELECT s.version INTO v_current FROM streams s WHERE s.stream_id = v_stream;

        IF NOT expected_version_holds(v_expected, v_current) THEN
            RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        ELSIF v_first = v_last THEN
            -- One event (the common case): scalar statements, as in
            -- append_event(). Statements on array slices are planned again
            -- on every iteration of the loop.
            IF EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_ids[v_first]) THEN
                RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
            ELSE
                INSERT INTO events AS e (event_id, stream_id, version, event_type, data,
                                         metadata)
                VALUES (p_event_ids[v_first], v_stream, v_current + 1, p_event_types[v_first],
                        p_data[v_first]::jsonb, p_metadata[v_first]::jsonb)
                RETURNING e.global_position, e.transaction_id INTO v_position, v_xid;
                UPDATE streams AS s SET version = v_current + 1 WHERE s.stream_id = v_stream;
                RETURN QUERY SELECT false, v_current + 1, v_xid, v_position;
            END IF;
        ELSIF EXISTS (SELECT 1 FROM events e WHERE e.event_id = p_event_ids[v_first]) THEN
            RETURN QUERY SELECT true, v_current, NULL::xid8, NULL::bigint;
        ELSE
            RETURN QUERY
            WITH inserted AS (
                INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
                SELECT u.event_id, v_stream, v_current + u.n, u.event_type,
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
            UPDATE streams AS s SET version = v_current + p_counts[i]
            WHERE s.stream_id = v_stream;
        END IF;
        v_first := v_last + 1;
    END LOOP;
END
$$;


-- Back to the kit's schema alone for the files after this one.
SELECT set_config('search_path', regexp_replace(current_setting('search_path'), ', pg_temp$', ''),
                  true);

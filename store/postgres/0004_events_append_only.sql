-- 0004: the database itself refuses to change or remove stored events.
--
-- One statement-level trigger covers UPDATE, DELETE and TRUNCATE: it fires
-- once per statement (even one touching no rows), so it costs appends
-- nothing. Dropping the schema is still possible (DROP fires no trigger).
-- Idempotent: safe to run again.

CREATE OR REPLACE FUNCTION reject_event_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are immutable: % on %.% is not allowed',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation',
              HINT = 'append a compensating event instead of changing or deleting one';
END
$$;

DROP TRIGGER IF EXISTS events_append_only ON events;
CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION reject_event_changes();

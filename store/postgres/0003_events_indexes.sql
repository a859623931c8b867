-- 0003: indexes for the readers of the event log.
--
-- Stream reads use the UNIQUE (stream_id, version) index of 0002. The global
-- order is (transaction_id, global_position): read_all pages by keyset on it.
-- Category and event-type reads page the same order inside their filter, so
-- each index ends with the order's two keys.
-- Idempotent: safe to run again.

CREATE INDEX IF NOT EXISTS events_global_order_idx
    ON events (transaction_id, global_position);

CREATE INDEX IF NOT EXISTS events_category_order_idx
    ON events (category, transaction_id, global_position);

CREATE INDEX IF NOT EXISTS events_type_order_idx
    ON events (event_type, transaction_id, global_position);

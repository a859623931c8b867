-- 0006: where each subscription has read up to.
--
-- A position in the global order is the pair (transaction_id, global_position)
-- of the last event processed (see 0002); both are stored as bigint, which is
-- how the kit hands them out (xid8 values fit: epoch << 32 | xid).
-- Idempotent: safe to run again.

CREATE TABLE IF NOT EXISTS subscription_checkpoints (
    subscription_id text PRIMARY KEY,
    transaction_id bigint NOT NULL CHECK (transaction_id >= 0),
    global_position bigint NOT NULL CHECK (global_position >= 0),
    updated_at timestamptz NOT NULL DEFAULT now()
);

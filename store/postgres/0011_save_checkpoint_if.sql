-- 0011: save_checkpoint_if(), the conditional checkpoint write that fences
-- a subscription's runners.
--
-- A runner stores the position it has handled up to only where the stored
-- checkpoint is still the one it read (p_expected_*; both NULL: "no
-- checkpoint yet"). A runner that fell behind (a second replica, a standby
-- that took over, a runner that never got the reply to its COMMIT) stores
-- nothing: the kit then raises out of its checkpoint transaction, and the
-- read-model writes made in it roll back with it. Returns saved, and the
-- stored position: the new one when saved, the one found when not.
--
-- Concurrency, under READ COMMITTED: the UPDATE locks the row; a second
-- runner's UPDATE waits for that lock, then evaluates its WHERE again on the
-- committed row, which no longer matches, and changes nothing. An INSERT of
-- a first checkpoint that a concurrent runner is also inserting waits for
-- that runner's transaction (ON CONFLICT DO NOTHING): once it commits, this
-- one inserts nothing. Under REPEATABLE READ or SERIALIZABLE (a caller's own
-- transaction) a row changed since the snapshot raises a serialization
-- failure instead, which the kit reports as a transient error. The row lock
-- is held until the caller's transaction ends, so the comparison still holds
-- at its COMMIT.
--
-- Safe to run again.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE OR REPLACE FUNCTION save_checkpoint_if(
    p_subscription_id text,
    p_transaction_id bigint,
    p_global_position bigint,
    p_expected_transaction_id bigint,
    p_expected_global_position bigint
) RETURNS TABLE (
    saved boolean,
    transaction_id bigint,
    global_position bigint
)
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
BEGIN
    IF p_expected_transaction_id IS NULL THEN
        INSERT INTO subscription_checkpoints AS c
            (subscription_id, transaction_id, global_position)
        VALUES (p_subscription_id, p_transaction_id, p_global_position)
        ON CONFLICT (subscription_id) DO NOTHING;
    ELSE
        UPDATE subscription_checkpoints AS c
        SET transaction_id = p_transaction_id,
            global_position = p_global_position,
            updated_at = now()
        WHERE c.subscription_id = p_subscription_id
          AND c.transaction_id = p_expected_transaction_id
          AND c.global_position = p_expected_global_position;
    END IF;
    IF FOUND THEN
        RETURN QUERY SELECT true, p_transaction_id, p_global_position;
        RETURN;
    END IF;
    -- Fenced: say where the checkpoint is (a new snapshot under READ
    -- COMMITTED: the row the winner committed).
    RETURN QUERY
        SELECT false, c.transaction_id, c.global_position
        FROM subscription_checkpoints AS c
        WHERE c.subscription_id = p_subscription_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::bigint, NULL::bigint;
    END IF;
END
$$;

-- Back to the kit's schema alone for the files after this one.
SELECT set_config('search_path', regexp_replace(current_setting('search_path'), ', pg_temp$', ''),
                  true);

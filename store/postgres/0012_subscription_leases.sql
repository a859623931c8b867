-- 0012: subscription_leases, and acquire_lease() / release_lease().
--
-- A lease names the one runner of a subscription that is active; other
-- runners wait as standbys and take the lease over once it expires (its
-- runner died or was cut off and stopped renewing). Expiry is by the
-- server's clock (clock_timestamp()), the one clock every runner shares,
-- whatever their hosts' clocks say. A lease only decides who works; the
-- fenced checkpoints (0011) keep the work exactly-once when a runner that
-- was paused past its expiry wakes up and commits.
--
-- acquire_lease() grants the lease to p_owner for p_ttl seconds when nobody
-- holds it, when p_owner does (a renewal), or when it has expired; else it
-- returns the holder. One statement: under READ COMMITTED, a second
-- acquirer's INSERT ... ON CONFLICT waits for the first's row lock, then
-- evaluates the WHERE on the row the first committed, so two runners never
-- both get it.
--
-- Safe to run again.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE TABLE IF NOT EXISTS subscription_leases (
    name text PRIMARY KEY,
    owner text NOT NULL,
    expires_at timestamptz NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE OR REPLACE FUNCTION acquire_lease(p_name text, p_owner text, p_ttl double precision)
RETURNS TABLE (granted boolean, holder text)
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
#variable_conflict use_column
BEGIN
    INSERT INTO subscription_leases AS l (name, owner, expires_at)
    VALUES (p_name, p_owner, clock_timestamp() + make_interval(secs => p_ttl))
    ON CONFLICT (name) DO UPDATE
        SET owner = EXCLUDED.owner,
            expires_at = EXCLUDED.expires_at,
            acquired_at = CASE WHEN l.owner = EXCLUDED.owner THEN l.acquired_at
                               ELSE clock_timestamp() END
        WHERE l.owner = EXCLUDED.owner OR l.expires_at <= clock_timestamp();
    IF FOUND THEN
        RETURN QUERY SELECT true, p_owner;
        RETURN;
    END IF;
    RETURN QUERY SELECT false, l.owner FROM subscription_leases AS l WHERE l.name = p_name;
END
$$;

CREATE OR REPLACE FUNCTION release_lease(p_name text, p_owner text)
RETURNS void
LANGUAGE sql
VOLATILE
SET search_path FROM CURRENT
AS $$
    DELETE FROM subscription_leases WHERE name = p_name AND owner = p_owner;
$$;

-- Back to the kit's schema alone for the files after this one.
SELECT set_config('search_path', regexp_replace(current_setting('search_path'), ', pg_temp$', ''),
                  true);

-- Prefill for the SQLite growth curve: rows :first to :last of a synthetic
-- history, the counterpart of _growth_prefill.sql (PostgreSQL). Rows
-- :first to :last are chunk :chunk: a row's stream is one of the chunk's
-- :streams streams and its version `(n - :first) / :streams + 1`, so each
-- stream's events are spread over the chunk. Payloads are the size of the
-- benchmarks' (_pg_common.payload); event ids are 16 random bytes, as the
-- kit stores a UUID. Works on the kit's events table and on the raw
-- reference (same columns).

WITH RECURSIVE g(n) AS (
    SELECT :first
    UNION ALL
    SELECT n + 1 FROM g WHERE n < :last
)
INSERT INTO events (
    stream_id, category, version, event_type, data, metadata, event_id, recorded_at
)
SELECT
    'Account-p' || :chunk || 'x' || (n % :streams),
    'Account',
    (n - :first) / :streams + 1,
    'Deposited',
    json_object(
        'amount', 100 + n % 997, 'currency', 'EUR', 'reference', printf('invoice-%08d', n)
    ),
    json_object(
        'correlation_id', printf('%08x-0000-4000-8000-%012x', n, n),
        'causation_id', printf('%08x-0000-4000-8000-%012x', n, n)
    ),
    randomblob(16),
    '2026-01-01T00:00:00.000000+00:00'
FROM g

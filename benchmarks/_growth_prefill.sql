-- Prefill for the growth curves: rows $1 to $2 of a synthetic history, the
-- same on every table that takes the six event columns (the kit's events,
-- the raw reference of _pg_raw_table.sql, the bare floor of _pg_floor.sql);
-- the kit's transaction_id, category and recorded_at come from their
-- defaults. The rows belong to chunk $3, which starts at row $5 and spreads
-- its rows over $4 streams: row g's stream is `g % $4` of the chunk and its
-- version `(g - $5) / $4 + 1`, so each stream's events are spread over the
-- whole chunk, as long-lived aggregates interleave in a real table. The
-- caller sends a chunk in short ranges, each its own transaction: every
-- reader of the global order on the server waits for a transaction that
-- holds an id (docs/postgres.md), so a long one would stall other sessions.
-- Payload and metadata are the size of the benchmarks'
-- (_pg_common.payload). Runs with search_path set to the target schema.

INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
SELECT
    gen_random_uuid(),
    'Account-p' || $3::bigint || 'x' || (g % $4::bigint),
    (g - $5::bigint) / $4::bigint + 1,
    'Deposited',
    jsonb_build_object(
        'amount', 100 + g % 997, 'currency', 'EUR', 'reference', 'invoice-' || lpad(g::text, 8, '0')
    ),
    jsonb_build_object('correlation_id', c, 'causation_id', c)
FROM generate_series($1::bigint, $2::bigint) AS g,
    LATERAL (SELECT md5(g::text)::uuid::text AS c) AS correlation

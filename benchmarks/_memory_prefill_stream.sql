-- Prefill for memory.py: one stream, $1, of $2 events (versions 1 to $2),
-- and its `streams` row, in the kit's schema. Payloads are the size of the
-- benchmarks' (_pg_common.payload). Runs with search_path set to the kit's
-- schema.

WITH written AS (
    INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)
    SELECT
        gen_random_uuid(),
        $1::text,
        g,
        'Deposited',
        jsonb_build_object(
            'amount', 100 + g % 997, 'currency', 'EUR',
            'reference', 'invoice-' || lpad(g::text, 8, '0')
        ),
        jsonb_build_object('correlation_id', c, 'causation_id', c)
    FROM generate_series(1, $2::bigint) AS g,
        LATERAL (SELECT md5(g::text)::uuid::text AS c) AS correlation
    RETURNING 1
)
INSERT INTO streams (stream_id, version)
SELECT $1::text, count(*) FROM written

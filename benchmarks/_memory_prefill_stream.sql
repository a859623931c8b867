-- Prefill for memory.py: versions $2 to $3 of one stream, $1, and its
-- `streams` row (version $3), in the kit's schema. The caller sends the
-- stream in short ranges, each its own transaction (see _growth_prefill.sql). Payloads are the size of the
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
    FROM generate_series($2::bigint, $3::bigint) AS g,
        LATERAL (SELECT md5(g::text)::uuid::text AS c) AS correlation
    RETURNING 1
)
INSERT INTO streams (stream_id, version)
SELECT $1::text, $3::bigint FROM (SELECT count(*) FROM written) AS done
ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version

-- Prefill for the growth curves, the kit's schema only: the `streams` row
-- (each stream's version) of every stream that _growth_prefill.sql wrote
-- for chunk $1, as the kit's appends would have left it: $2 streams of $3
-- events each. Runs with search_path set to the kit's schema.

INSERT INTO streams (stream_id, version)
SELECT 'Account-p' || $1::bigint || 'x' || s, $3::bigint
FROM generate_series(0, $2::bigint - 1) AS s

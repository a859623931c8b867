-- 0013: stream_partition(), the rule that puts a stream in a partition, so
-- that a consumer group's member reads only its own streams' events.
--
-- The same rule as the kit's `partition_of` in Python: the CRC-32 (IEEE,
-- that of zlib.crc32) of the stream id's UTF-8 bytes, modulo the partition
-- count. The contract suite checks that the two agree.
--
-- Computed at read time, by the partitioned reads only: appends pay
-- nothing. The server still scans every event of the range a member reads;
-- only the member's own events leave it.
--
-- Safe to run again.

SELECT set_config('search_path', current_setting('search_path') || ', pg_temp', true);

CREATE OR REPLACE FUNCTION stream_partition(p_stream_id text, p_count integer)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
    bytes bytea := convert_to(p_stream_id, 'UTF8');
    crc bigint := 4294967295;
BEGIN
    FOR i IN 0 .. length(bytes) - 1 LOOP
        crc := crc # get_byte(bytes, i);
        FOR k IN 1 .. 8 LOOP
            -- 3988292384 = 0xEDB88320, the reflected IEEE polynomial.
            crc := (crc >> 1) # (3988292384 * (crc & 1));
        END LOOP;
    END LOOP;
    RETURN ((crc # 4294967295) % p_count)::integer;
END;
$$;

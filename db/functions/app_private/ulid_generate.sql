-- A new ULID: 48 bits of Unix time in milliseconds, then 80 random bits, as 26
-- characters of Crockford base32 (canonical uppercase), so ids sort by creation time.
CREATE OR REPLACE FUNCTION app_private.ulid_generate()
  RETURNS text
  LANGUAGE plpgsql
  VOLATILE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_alphabet constant text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  v_millis bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
  -- gen_random_uuid() is the core source of strong randomness (no pgcrypto needed).
  -- Its bytes 0-5 and 10-13 carry no version or variant bits: 80 random bits.
  v_uuid bytea := uuid_send(gen_random_uuid());
  v_high bigint := 0;
  v_low bigint := 0;
  v_result text := '';
BEGIN
  FOR i IN 0..4 LOOP
    v_high := (v_high << 8) | get_byte(v_uuid, i);
  END LOOP;
  v_low := get_byte(v_uuid, 5);
  FOR i IN 10..13 LOOP
    v_low := (v_low << 8) | get_byte(v_uuid, i);
  END LOOP;
  FOR i IN REVERSE 9..0 LOOP
    v_result := v_result || substr(v_alphabet, ((v_millis >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  FOR i IN REVERSE 7..0 LOOP
    v_result := v_result || substr(v_alphabet, ((v_high >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  FOR i IN REVERSE 7..0 LOOP
    v_result := v_result || substr(v_alphabet, ((v_low >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  RETURN v_result;
END;
$$;

COMMENT ON FUNCTION app_private.ulid_generate() IS
  'A new ULID (26 characters, Crockford base32, uppercase, ordered by creation time). Raises nothing.';

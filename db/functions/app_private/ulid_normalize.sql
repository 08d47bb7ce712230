-- Ids arrive in any letter case (ULIDs are case-insensitive) and leave in the
-- canonical uppercase form, so 01arz... and 01ARZ... find the same row.
CREATE OR REPLACE FUNCTION app_private.ulid_normalize(p_id text, p_field text DEFAULT 'id')
  RETURNS text
  LANGUAGE plpgsql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := upper(p_id);
BEGIN
  IF p_id IS NULL THEN
    RAISE EXCEPTION '% must not be null', p_field
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- 26 Crockford base32 characters (no I, L, O, U); the first is at most 7, because
  -- a ULID holds 128 bits and 26 characters could hold 130.
  IF v_id !~ '^[0-7][0-9A-HJKMNP-TV-Z]{25}$' THEN
    RAISE EXCEPTION '% is not a valid ULID: "%"', p_field, left(p_id, 64)
      USING ERRCODE = 'invalid_text_representation',
            HINT = 'A ULID is 26 characters of Crockford base32, such as 01ARZ3NDEKTSV4RRFFQ69G5FAV.';
  END IF;
  RETURN v_id;
END;
$$;

COMMENT ON FUNCTION app_private.ulid_normalize(text, text) IS
  'The ULID p_id in canonical uppercase. Raises 22004 when null, 22P02 when not a ULID (naming p_field).';

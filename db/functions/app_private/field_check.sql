-- The columns are varchar(n), which would reject an over-long value too, but
-- without naming the field; checking here gives the caller a message to act on.
CREATE OR REPLACE FUNCTION app_private.field_check(p_field text, p_value text, p_max_length integer, p_required boolean)
  RETURNS text
  LANGUAGE plpgsql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF p_value IS NULL THEN
    IF p_required THEN
      RAISE EXCEPTION '% must not be null', p_field
        USING ERRCODE = 'null_value_not_allowed';
    END IF;
    RETURN NULL;
  END IF;
  IF p_required AND p_value = '' THEN
    RAISE EXCEPTION '% must not be empty', p_field
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF char_length(p_value) > p_max_length THEN
    RAISE EXCEPTION '% is % characters long; the most is %', p_field, char_length(p_value), p_max_length
      USING ERRCODE = 'string_data_right_truncation';
  END IF;
  RETURN p_value;
END;
$$;

COMMENT ON FUNCTION app_private.field_check(text, text, integer, boolean) IS
  'p_value unchanged if it fits: raises 22004 when required and null, 22023 when required and empty, '
  '22001 when longer than p_max_length characters.';

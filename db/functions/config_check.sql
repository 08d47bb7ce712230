CREATE OR REPLACE FUNCTION config_check(p_config jsonb)
  RETURNS jsonb
  LANGUAGE plpgsql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  IF p_config IS NULL THEN
    RAISE EXCEPTION 'config must not be null'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(p_config) <> 'object' THEN
    RAISE EXCEPTION 'config must be a JSON object, not %', jsonb_typeof(p_config)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Send key/value pairs: {"key": "value"}.';
  END IF;
  RETURN p_config;
END;
$$;

COMMENT ON FUNCTION config_check(jsonb) IS
  'p_config unchanged if it is a JSON object: raises 22004 when null, 22023 for any other JSON type.';

CREATE OR REPLACE FUNCTION app_private.config_check(p_config jsonb)
  RETURNS jsonb
  LANGUAGE plpgsql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_bytes integer;
BEGIN
  IF p_config IS NULL THEN
    RAISE EXCEPTION 'config must not be null'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF jsonb_typeof(p_config) <> 'object' THEN
    RAISE EXCEPTION 'config must be a JSON object, not %', jsonb_typeof(p_config)
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Send key/value pairs: {"key": "value"}.';
  END IF;
  -- Bounded as text, the form every read sends back: jsonb keeps numbers exact, so a
  -- 5-byte 1e308 is 309 digits there, and a small document can grow fifty-fold.
  v_bytes := octet_length(p_config::text);
  IF v_bytes > 1048576 THEN
    RAISE EXCEPTION 'config is % bytes as JSON text, over the limit of 1048576 (1 MiB)', v_bytes
      USING ERRCODE = 'program_limit_exceeded',
            HINT = 'Split it into several configurations; numbers count as the digits jsonb writes (1e308 is 309).';
  END IF;
  RETURN p_config;
END;
$$;

COMMENT ON FUNCTION app_private.config_check(jsonb) IS
  'p_config unchanged if it is a JSON object of at most 1 MiB as JSON text (the form reads return): raises '
  '22004 when null, 22023 for any other JSON type, 54000 when larger.';

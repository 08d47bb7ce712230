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
  -- Refused at once when it cannot be small enough, before any walk: jsonb's binary form takes
  -- at most about three times a document's text (8 bytes for a "0, "), so over 4 MiB of it the
  -- text is surely over 1 MiB. What remains to walk is bounded by that.
  IF pg_column_size(p_config) > 4 * 1048576 THEN
    RAISE EXCEPTION 'config is over the limit of 1048576 bytes (1 MiB) as JSON text'
      USING ERRCODE = 'program_limit_exceeded',
            HINT = 'Split it into several configurations; numbers count as the digits jsonb writes (1e308 is 309).';
  END IF;
  -- jsonb keeps numbers exact and writes them out in full: 1e131071 would be 131,072 digits.
  -- Within a double's range, as most JSON readers need anyway, a number is at most ~310.
  IF jsonb_path_exists(p_config, 'strict $.** ? (@.type() == "number" && '
                                 '(@.abs() >= 1e309 || (@ != 0 && @.abs() < 1e-309)))') THEN
    RAISE EXCEPTION 'config numbers must be zero or between 1e-309 and 1e309 in magnitude'
      USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  -- The rest are short but for their scale (0e-9999 is 10,001 characters) or typed-out digits.
  -- A number's length written out follows from its integer part (at most 310 characters here)
  -- and its scale, so it is worked out without writing it, and only for a scale that could make
  -- it long: the check stays linear in the document, however long its numbers would be as text.
  -- The containers are walked rather than asked with jsonb_path_query, whose rows cost ever more
  -- as the document grows (seconds for 200,000 numbers).
  IF EXISTS (
    WITH RECURSIVE node(value, kind) AS (
      SELECT p_config, 'object'
      UNION ALL
      SELECT child.value, jsonb_typeof(child.value)
        FROM node,
             LATERAL (SELECT value FROM jsonb_array_elements(node.value) WHERE node.kind = 'array'
                      UNION ALL
                      SELECT value FROM jsonb_each(node.value) WHERE node.kind = 'object') AS child
       WHERE node.kind IN ('array', 'object')
    )
    SELECT FROM node
     WHERE CASE WHEN kind = 'number' AND scale(value::numeric) > 88
                THEN (value::numeric < 0)::int + length(trunc(abs(value::numeric))::text) + 1 + scale(value::numeric) > 400
                ELSE false END
  ) THEN
    RAISE EXCEPTION 'config numbers may take at most 400 characters written out in full'
      USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  -- Bounded as text, the form every read sends back: a 5-byte 1e308 is 309 digits there,
  -- so a small document can still grow fifty-fold.
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
  'p_config unchanged if it is a JSON object of at most 1 MiB as JSON text (the form reads return) whose '
  'numbers are zero or between 1e-309 and 1e309 in magnitude and at most 400 characters written out: raises '
  '22004 when null, 22023 for any other JSON type, 22003 for such a number, 54000 when larger.';

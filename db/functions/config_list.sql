CREATE OR REPLACE FUNCTION config_list(
  p_application_id text,
  p_after text DEFAULT NULL,
  p_limit integer DEFAULT NULL,
  p_name text DEFAULT NULL,
  p_max_bytes integer DEFAULT NULL
)
  RETURNS SETOF json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_application_id constant text := app_private.ulid_normalize(p_application_id, 'application_id');
  v_after constant text := CASE WHEN p_after IS NOT NULL THEN app_private.ulid_normalize(p_after, 'after') END;
  v_configuration json;
  v_bytes bigint := 0;
BEGIN
  IF p_limit < 1 THEN
    RAISE EXCEPTION 'limit must be at least 1, not %', p_limit
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT FROM applications WHERE id = v_application_id) THEN
    RAISE EXCEPTION 'application % does not exist', v_application_id
      USING ERRCODE = 'no_data_found', HINT = 'List applications with app_list().';
  END IF;
  -- Row by row, so that with p_max_bytes the rows past the budget are not read (but for the few
  -- the loop fetches ahead): a page of configurations of up to 1 MiB each stays a few MiB
  -- whatever p_limit allows.
  FOR v_configuration IN
    SELECT jsonb_build_object(
             'id', c.id,
             'application_id', c.application_id,
             'name', c.name,
             'comments', c.comments,
             'config', c.config)::json
      FROM configurations c
     WHERE c.application_id = v_application_id
       AND (v_after IS NULL OR c.id > v_after)
       AND (p_name IS NULL OR c.name = p_name)
     ORDER BY c.id
     LIMIT p_limit
  LOOP
    RETURN NEXT v_configuration;
    v_bytes := v_bytes + octet_length(v_configuration::text);
    EXIT WHEN v_bytes >= p_max_bytes;  -- never with a null p_max_bytes
  END LOOP;
END;
$$;

COMMENT ON FUNCTION config_list(text, text, integer, text, integer) IS
  'The configurations of application p_application_id as config_get() returns each, one row each, ordered '
  'by id: those after id p_after, at most p_limit (null: all), only the one named p_name when given, and no '
  'more once they take p_max_bytes as JSON text (the row that reaches it included; null: no bound). Raises '
  'P0002 when the application does not exist, 22023 when p_limit < 1, 22P02 for an id that is not a ULID.';

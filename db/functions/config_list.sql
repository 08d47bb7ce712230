CREATE OR REPLACE FUNCTION config_list(
  p_application_id text,
  p_after text DEFAULT NULL,
  p_limit integer DEFAULT NULL,
  p_name text DEFAULT NULL
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
BEGIN
  IF p_limit < 1 THEN
    RAISE EXCEPTION 'limit must be at least 1, not %', p_limit
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT FROM applications WHERE id = v_application_id) THEN
    RAISE EXCEPTION 'application % does not exist', v_application_id
      USING ERRCODE = 'no_data_found', HINT = 'List applications with app_list().';
  END IF;
  RETURN QUERY
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
     LIMIT p_limit;
END;
$$;

COMMENT ON FUNCTION config_list(text, text, integer, text) IS
  'The configurations of application p_application_id as config_get() returns each, one row each, ordered '
  'by id: those after id p_after, at most p_limit (null: all), only the one named p_name when given. Raises '
  'P0002 when the application does not exist, 22023 when p_limit < 1, 22P02 for an id that is not a ULID.';

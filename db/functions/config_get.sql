CREATE OR REPLACE FUNCTION config_get(p_id text)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_configuration json;
BEGIN
  SELECT jsonb_build_object(
           'id', c.id,
           'application_id', c.application_id,
           'name', c.name,
           'comments', c.comments,
           'config', c.config)::json
    INTO v_configuration
    FROM configurations c
   WHERE c.id = v_id;
  IF v_configuration IS NULL THEN
    RAISE EXCEPTION 'configuration % does not exist', v_id
      USING ERRCODE = 'no_data_found', HINT = 'app_get() lists the configuration_ids of an application.';
  END IF;
  RETURN v_configuration;
END;
$$;

COMMENT ON FUNCTION config_get(text) IS
  'The configuration p_id as JSON {id, application_id, name, comments, config}. '
  'Raises P0002 when it does not exist, 22P02 when p_id is not a ULID.';

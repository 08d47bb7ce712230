CREATE OR REPLACE FUNCTION config_get_by_name(p_application_name text, p_name text)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_application_id text;
  v_id text;
BEGIN
  SELECT a.id INTO v_application_id FROM applications a WHERE a.name = p_application_name;
  IF v_application_id IS NULL THEN
    RAISE EXCEPTION 'no application is named "%"', p_application_name
      USING ERRCODE = 'no_data_found', HINT = 'Names are exact; list applications with app_list().';
  END IF;
  SELECT c.id INTO v_id FROM configurations c WHERE c.application_id = v_application_id AND c.name = p_name;
  IF v_id IS NULL THEN
    RAISE EXCEPTION 'application "%" has no configuration named "%"', p_application_name, p_name
      USING ERRCODE = 'no_data_found', HINT = 'config_list() lists its configurations.';
  END IF;
  RETURN config_get(v_id);
END;
$$;

COMMENT ON FUNCTION config_get_by_name(text, text) IS
  'The configuration named p_name of the application named p_application_name, as config_get() returns it: '
  'what a consuming service reads at boot. Raises P0002 (saying which name is unknown) when either is missing.';

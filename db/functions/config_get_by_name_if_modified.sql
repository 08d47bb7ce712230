CREATE OR REPLACE FUNCTION config_get_by_name_if_modified(
  p_application_name text,
  p_name text,
  p_version bigint,
  OUT configuration json,
  OUT version bigint
)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
-- config_get_if_modified by names. The document is the configuration row's alone (its
-- application_id included), so that row's version says whether it changed; a renamed application
-- or configuration is no longer found by the old names.
AS $$
DECLARE
  v_application_id text;
  v_id text;
  v_xmin xid;
BEGIN
  SELECT a.id INTO v_application_id FROM applications a WHERE a.name = p_application_name;
  IF v_application_id IS NULL THEN
    RAISE EXCEPTION 'no application is named "%"', p_application_name
      USING ERRCODE = 'no_data_found', HINT = 'Names are exact; list applications with app_list().';
  END IF;
  SELECT c.id, c.xmin INTO v_id, v_xmin
    FROM configurations c
   WHERE c.application_id = v_application_id AND c.name = p_name;
  IF v_id IS NULL THEN
    RAISE EXCEPTION 'application "%" has no configuration named "%"', p_application_name, p_name
      USING ERRCODE = 'no_data_found', HINT = 'config_list() lists its configurations.';
  END IF;
  version := app_private.row_version(v_xmin);
  IF version = p_version THEN
    RETURN;  -- unchanged: no document
  END IF;
  configuration := config_get(v_id);
END;
$$;

COMMENT ON FUNCTION config_get_by_name_if_modified(text, text, bigint) IS
  'config_get_by_name() with the row version of config_get_if_modified(): configuration NULL when p_version '
  'is still the version of the configuration those names find. Raises P0002 (saying which name is unknown) '
  'when either is missing.';

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
-- config_get_if_modified by names. Which configuration the names find depends on two rows, the
-- application's (its name) and the configuration's, so the version is the greater of theirs.
-- Unchanged rows keep it; a row written since has a version above every version read before
-- (app_private.row_version), which raises it; and a row unchanged since that comes to be found by
-- these names cannot be, as its name is unchanged and names are unique. So an equal version means
-- the same two row versions, hence the same document.
AS $$
DECLARE
  v_application_id text;
  v_application_xmin xid;
  v_id text;
  v_xmin xid;
  v_version bigint;
BEGIN
  SELECT a.id, a.xmin INTO v_application_id, v_application_xmin
    FROM applications a
   WHERE a.name = p_application_name;
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
  version := app_private.row_version(v_application_xmin);
  v_version := app_private.row_version(v_xmin);
  -- NULL when either is NULL (greatest() would ignore one): it cannot be told yet.
  version := CASE WHEN version IS NOT NULL AND v_version IS NOT NULL THEN greatest(version, v_version) END;
  IF version = p_version THEN
    RETURN;  -- unchanged: no document
  END IF;
  configuration := config_get(v_id);
END;
$$;

COMMENT ON FUNCTION config_get_by_name_if_modified(text, text, bigint) IS
  'config_get_by_name() with a version as config_get_if_modified() has one, here of the application''s and '
  'the configuration''s rows together: configuration NULL when p_version is still that version. Raises P0002 '
  '(saying which name is unknown) when either is missing.';

CREATE OR REPLACE FUNCTION app_get_by_name(p_name text)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id text;
BEGIN
  SELECT a.id INTO v_id FROM applications a WHERE a.name = p_name;
  IF v_id IS NULL THEN
    RAISE EXCEPTION 'no application is named "%"', p_name
      USING ERRCODE = 'no_data_found', HINT = 'Names are exact; list applications with app_list().';
  END IF;
  RETURN app_get(v_id);
END;
$$;

COMMENT ON FUNCTION app_get_by_name(text) IS
  'The application named p_name (exactly), as app_get() returns it. Raises P0002 when none has that name.';

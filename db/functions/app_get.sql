CREATE OR REPLACE FUNCTION app_get(p_id text)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_application json;
BEGIN
  SELECT jsonb_build_object(
           'id', a.id,
           'name', a.name,
           'comments', a.comments,
           -- ULIDs sort by creation time, so ordering by id lists them as they were created.
           'configuration_ids', coalesce(
             (SELECT jsonb_agg(c.id ORDER BY c.id) FROM configurations c WHERE c.application_id = a.id),
             '[]'::jsonb))::json
    INTO v_application
    FROM applications a
   WHERE a.id = v_id;
  IF v_application IS NULL THEN
    RAISE EXCEPTION 'application % does not exist', v_id
      USING ERRCODE = 'no_data_found', HINT = 'List applications with app_list().';
  END IF;
  RETURN v_application;
END;
$$;

COMMENT ON FUNCTION app_get(text) IS
  'The application p_id as JSON {id, name, comments, configuration_ids} (ids in creation order). '
  'Raises P0002 when it does not exist, 22P02 when p_id is not a ULID.';

CREATE OR REPLACE FUNCTION app_private.revision_diff(p_entity text, p_id text, p_from bigint, p_to bigint)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_from constant jsonb := (app_private.revision_of(p_entity, p_id, p_from)).state;
  v_to jsonb;
BEGIN
  IF p_to IS NOT NULL THEN
    v_to := (app_private.revision_of(p_entity, p_id, p_to)).state;
  ELSIF p_entity = 'application' THEN  -- the current state: null when it is deleted
    SELECT app_private.application_state(a) INTO v_to FROM applications a WHERE a.id = p_id;
  ELSE
    SELECT app_private.configuration_state(c) INTO v_to FROM configurations c WHERE c.id = p_id;
  END IF;
  RETURN app_private.json_patch(v_from, v_to)::json;
END;
$$;

COMMENT ON FUNCTION app_private.revision_diff(text, text, bigint, bigint) IS
  'The RFC 6902 JSON Patch that turns the p_entity p_id (a normalised id) as revision p_from left it into what '
  'revision p_to left (null: as it is now; a deletion is JSON null). Raises P0002 when either revision does not exist.';

CREATE OR REPLACE FUNCTION config_revert(
  p_id text, p_revision bigint, p_if_match text DEFAULT NULL, p_if_none_match text DEFAULT NULL
)
  RETURNS json
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_state constant jsonb := (app_private.revision_of('configuration', v_id, p_revision)).state;
BEGIN
  IF v_state IS NULL THEN
    RAISE EXCEPTION 'revision % is the deletion of configuration %: there is no state to go back to', p_revision, v_id
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Revert to an earlier revision, or delete the configuration.';
  END IF;
  -- Through the functions any write goes through: the same checks, locks and errors, and the
  -- triggers record the result as a new revision.
  IF EXISTS (SELECT FROM configurations WHERE id = v_id) THEN
    RETURN config_update(v_id, v_state ->> 'name', v_state -> 'config', v_state ->> 'comments', NULL, p_if_match, p_if_none_match);
  END IF;
  -- A deleted configuration: If-Match asks for a current version, which there is none of (RFC 9110 13.1.1).
  IF p_if_match IS NOT NULL THEN
    RAISE EXCEPTION 'configuration % does not exist, so If-Match cannot match', v_id
      USING ERRCODE = 'PT412', HINT = 'Leave out If-Match to recreate it.';
  END IF;
  -- 23503 when its application is gone meanwhile, as for any configuration created.
  RETURN config_create(v_state ->> 'application_id', v_state ->> 'name', v_state -> 'config', v_state ->> 'comments', v_id);
END;
$$;

COMMENT ON FUNCTION config_revert(text, bigint, text, text) IS
  'Makes revision p_revision of configuration p_id current again, as a new revision (its ETag is revision p_revision''s '
  'when the content is the same), and returns the configuration as config_get() does; recreates it, with the same id, '
  'when it is deleted. p_if_match and p_if_none_match as for config_update() (p_if_match never matches a deleted one). '
  'Raises P0002 when there is no such revision, 22023 when that revision is a deletion, PT412 when a '
  'precondition fails. Raises 23503 when, recreating it, its application no longer exists, 23505 when its name (or id) is taken within the application.';

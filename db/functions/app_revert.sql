CREATE OR REPLACE FUNCTION app_revert(
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
  v_state constant jsonb := (app_private.revision_of('application', v_id, p_revision)).state;
BEGIN
  IF v_state IS NULL THEN
    RAISE EXCEPTION 'revision % is the deletion of application %: there is no state to go back to', p_revision, v_id
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Revert to an earlier revision, or delete the application.';
  END IF;
  -- Through the functions any write goes through: the same checks, locks and errors, and the
  -- triggers record the result as a new revision.
  IF EXISTS (SELECT FROM applications WHERE id = v_id) THEN
    RETURN app_update(v_id, v_state ->> 'name', v_state ->> 'comments', p_if_match, p_if_none_match);
  END IF;
  -- A deleted application: If-Match asks for a current version, which there is none of (RFC 9110 13.1.1).
  IF p_if_match IS NOT NULL THEN
    RAISE EXCEPTION 'application % does not exist, so If-Match cannot match', v_id
      USING ERRCODE = 'PT412', HINT = 'Leave out If-Match to recreate it.';
  END IF;
  RETURN app_create(v_state ->> 'name', v_state ->> 'comments', v_id);
END;
$$;

COMMENT ON FUNCTION app_revert(text, bigint, text, text) IS
  'Makes revision p_revision of application p_id current again, as a new revision (its ETag is revision p_revision''s '
  'when the content is the same), and returns the application as app_get() does; recreates it, with the same id, '
  'when it is deleted. p_if_match and p_if_none_match as for app_update() (p_if_match never matches a deleted one). '
  'Raises P0002 when there is no such revision, 22023 when that revision is a deletion, PT412 when a '
  'precondition fails. Raises 23505 when its name (or, recreating it, its id) is taken.';

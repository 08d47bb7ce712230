CREATE OR REPLACE FUNCTION app_update(
  p_id text, p_name text, p_comments text DEFAULT NULL, p_if_match text DEFAULT NULL, p_if_none_match text DEFAULT NULL
)
  RETURNS json
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_name constant text := app_private.field_check('name', p_name, 256, true);
  v_comments constant text := app_private.field_check('comments', p_comments, 1024, false);
BEGIN
  PERFORM app_private.application_lock(v_id, p_if_match, p_if_none_match);
  -- A full replacement: a null p_comments clears the comments.
  BEGIN
    UPDATE applications SET name = v_name, comments = v_comments WHERE id = v_id;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'an application named "%" already exists', v_name
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'applications_name_key',
            HINT = 'Application names are unique: choose another name.';
  END;
  RETURN app_get(v_id);
END;
$$;

COMMENT ON FUNCTION app_update(text, text, text, text, text) IS
  'Replaces the name and comments of application p_id (null comments clear them); returns it as app_get() does. '
  'p_if_match, when given, must match its current ETag (If-Match: * or entity tags), and p_if_none_match must not '
  '(If-None-Match: * refuses what exists), both checked under the row lock. '
  'Raises P0002 when it does not exist, PT412 when p_if_match does not match or p_if_none_match does, 23505 when the name is taken, '
  '22004/22023/22001/22P02 for bad input. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

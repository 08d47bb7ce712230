CREATE OR REPLACE FUNCTION config_update(
  p_id text,
  p_name text,
  p_config jsonb,
  p_comments text DEFAULT NULL,
  p_application_id text DEFAULT NULL,
  p_if_match text DEFAULT NULL,
  p_if_none_match text DEFAULT NULL
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
  v_config constant jsonb := app_private.config_check(p_config);
  v_current_application_id text;
BEGIN
  v_current_application_id := app_private.configuration_lock(v_id, p_if_match, p_if_none_match);
  -- A configuration never moves: p_application_id may only confirm the current one.
  IF p_application_id IS NOT NULL
     AND app_private.ulid_normalize(p_application_id, 'application_id') <> v_current_application_id THEN
    RAISE EXCEPTION 'configuration % belongs to application % and cannot move to another', v_id, v_current_application_id
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Leave out application_id, or send the current one; create a new configuration elsewhere instead.';
  END IF;
  BEGIN
    UPDATE configurations SET name = v_name, comments = v_comments, config = v_config WHERE id = v_id;
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'application % already has a configuration named "%"', v_current_application_id, v_name
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'configurations_unique_name_per_app',
            HINT = 'Configuration names are unique within an application: choose another name.';
  END;
  RETURN config_get(v_id);
END;
$$;

COMMENT ON FUNCTION config_update(text, text, jsonb, text, text, text, text) IS
  'Replaces the name, comments (null clears them) and config of configuration p_id; returns it as '
  'config_get() does. p_application_id, when given, must be its current application. Raises P0002 when it '
  'does not exist, PT412 when p_if_match (If-Match: * or entity tags) does not match its current ETag or p_if_none_match (If-None-Match: * refuses what exists) does (both checked under the row lock), 22023 when p_application_id differs or p_config is not an object, 54000 when p_config is over 1 MiB as JSON text, 23505 when the name is '
  'taken within the application, 22004/22001/22P02 for bad input. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

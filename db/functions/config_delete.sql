CREATE OR REPLACE FUNCTION config_delete(p_id text, p_if_match text DEFAULT NULL, p_if_none_match text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_application_id text;
BEGIN
  v_application_id := app_private.configuration_lock(v_id, p_if_match, p_if_none_match);
  DELETE FROM configurations WHERE id = v_id;
END;
$$;

COMMENT ON FUNCTION config_delete(text, text, text) IS
  'Deletes configuration p_id. p_if_match, when given, must match its current ETag, and p_if_none_match must '
  'not. Raises P0002 when it does not exist, PT412 when p_if_match does not match or p_if_none_match does, 22P02 when p_id is not a ULID. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

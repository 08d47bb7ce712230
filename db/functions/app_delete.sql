CREATE OR REPLACE FUNCTION app_delete(p_id text, p_if_match text DEFAULT NULL, p_if_none_match text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_configurations bigint;
BEGIN
  -- A racing config_create either committed first (and is counted below) or fails its foreign
  -- key after this delete: never an orphan.
  PERFORM app_private.application_lock(v_id, p_if_match, p_if_none_match);
  -- No cascade: the seed's foreign key has no ON DELETE, and neither has this function.
  SELECT count(*) INTO v_configurations FROM configurations WHERE application_id = v_id;
  IF v_configurations > 0 THEN
    RAISE EXCEPTION 'application % still has % configuration(s): delete them first', v_id, v_configurations
      USING ERRCODE = 'dependent_objects_still_exist',
            HINT = 'config_list() lists them and config_delete() deletes one.';
  END IF;
  DELETE FROM applications WHERE id = v_id;
END;
$$;

COMMENT ON FUNCTION app_delete(text, text, text) IS
  'Deletes application p_id, which must have no configurations left. p_if_match, when given, must match its '
  'current ETag, and p_if_none_match must not. Raises P0002 when it does not exist, 2BP01 while it has '
  'configurations, PT412 when p_if_match does not match or p_if_none_match does, 22P02 when p_id is not a ULID. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

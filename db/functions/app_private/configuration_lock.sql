CREATE OR REPLACE FUNCTION app_private.configuration_lock(p_id text, p_if_match text, p_if_none_match text DEFAULT NULL)
  RETURNS text
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_application_id text;
  v_current json;
BEGIN
  -- Locked first, so that the ETag compared is the one about to change: of concurrent writers
  -- sent with the same If-Match, one wins and the others see its change.
  SELECT application_id INTO v_application_id FROM configurations WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'configuration % does not exist', p_id
      USING ERRCODE = 'no_data_found', HINT = 'app_get() lists the configuration_ids of an application.';
  END IF;
  v_current := config_get(p_id);
  PERFORM app_private.if_match(p_if_match, v_current, format('configuration %s', p_id));
  PERFORM app_private.if_none_match(p_if_none_match, v_current, format('configuration %s', p_id));
  RETURN v_application_id;
END;
$$;

COMMENT ON FUNCTION app_private.configuration_lock(text, text, text) IS
  'Locks configuration p_id (a normalised id) for the rest of the transaction, before a write, and returns its '
  'application_id: raises P0002 when it does not exist, PT412 when p_if_match does not match its current ETag or '
  'p_if_none_match does.';

CREATE OR REPLACE FUNCTION app_private.application_lock(p_id text, p_if_match text, p_if_none_match text DEFAULT NULL)
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_current json;
BEGIN
  -- Locked first, so that the ETag compared is the one about to change: of concurrent writers
  -- sent with the same If-Match, one wins and the others see its change. The lock also conflicts
  -- with the key-share lock a configuration's insert takes on its application.
  PERFORM FROM applications WHERE id = p_id FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'application % does not exist', p_id
      USING ERRCODE = 'no_data_found', HINT = 'List applications with app_list().';
  END IF;
  v_current := app_get(p_id);
  PERFORM app_private.if_match(p_if_match, v_current, format('application %s', p_id));
  PERFORM app_private.if_none_match(p_if_none_match, v_current, format('application %s', p_id));
END;
$$;

COMMENT ON FUNCTION app_private.application_lock(text, text, text) IS
  'Locks application p_id (a normalised id) for the rest of the transaction, before a write: raises P0002 when '
  'it does not exist, PT412 when p_if_match does not match its current ETag or p_if_none_match does.';

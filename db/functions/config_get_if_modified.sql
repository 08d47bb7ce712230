CREATE OR REPLACE FUNCTION config_get_if_modified(
  p_id text,
  p_version bigint,
  OUT configuration json,
  OUT version bigint
)
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
-- A revalidating read (If-None-Match) of a large configuration costs its whole document: detoasted,
-- built and sent. When the row is still the version the caller read, this answers that without
-- building anything: one index lookup of the row's xmin.
AS $$
DECLARE
  v_id constant text := app_private.ulid_normalize(p_id);
  v_xmin xid;
BEGIN
  SELECT c.xmin INTO v_xmin FROM configurations c WHERE c.id = v_id;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'configuration % does not exist', v_id
      USING ERRCODE = 'no_data_found', HINT = 'app_get() lists the configuration_ids of an application.';
  END IF;
  version := app_private.row_version(v_xmin);
  IF version = p_version THEN
    RETURN;  -- unchanged: no document
  END IF;
  configuration := config_get(v_id);  -- this function's snapshot: the row version just looked up
END;
$$;

COMMENT ON FUNCTION config_get_if_modified(text, bigint) IS
  'The configuration p_id as config_get() returns it, and its row version (app_private.row_version; NULL '
  'when it cannot be told yet); or, when p_version is that version, configuration NULL: unchanged since '
  'the read that gave p_version, whoever wrote since. Raises P0002 when it does not exist, 22P02 when '
  'p_id is not a ULID.';

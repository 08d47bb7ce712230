CREATE OR REPLACE FUNCTION app_revisions(p_id text, p_before bigint DEFAULT NULL, p_limit integer DEFAULT NULL)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT app_private.revision_list('application', app_private.ulid_normalize(p_id), p_before, p_limit);
$$;

COMMENT ON FUNCTION app_revisions(text, bigint, integer) IS
  'The revisions of application p_id kept (also once it is deleted), newest first, as a JSON array of '
  '{revision, action, at, by, etag}: those before revision p_before (null: from the newest), at most p_limit '
  '(null: all). Raises P0002 when it has none, 22023 when p_limit < 1, 22P02 when p_id is not a ULID.';

CREATE OR REPLACE FUNCTION app_revision(p_id text, p_revision bigint)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT app_private.revision_document(app_private.revision_of('application', app_private.ulid_normalize(p_id), p_revision));
$$;

COMMENT ON FUNCTION app_revision(text, bigint) IS
  'Revision p_revision of application p_id: {revision, action, at, by, etag, state}, state being the application as '
  'app_get() returned it after that change (null after its deletion). Raises P0002 when it has no such revision '
  '(never, or pruned), 22004 when p_revision is null, 22P02 when p_id is not a ULID.';

CREATE OR REPLACE FUNCTION app_diff(p_id text, p_from bigint, p_to bigint DEFAULT NULL)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT app_private.revision_diff('application', app_private.ulid_normalize(p_id), p_from, p_to);
$$;

COMMENT ON FUNCTION app_diff(text, bigint, bigint) IS
  'An RFC 6902 JSON Patch (a JSON array of operations) that turns application p_id as revision p_from left it into '
  'what revision p_to left (null: the application as it is now); a deleted application is JSON null. Raises P0002 when '
  'either revision does not exist (never, or pruned), 22004 when p_from is null, 22P02 when p_id is not a ULID.';

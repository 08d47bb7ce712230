CREATE OR REPLACE FUNCTION config_diff(p_id text, p_from bigint, p_to bigint DEFAULT NULL)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
  SELECT app_private.revision_diff('configuration', app_private.ulid_normalize(p_id), p_from, p_to);
$$;

COMMENT ON FUNCTION config_diff(text, bigint, bigint) IS
  'An RFC 6902 JSON Patch (a JSON array of operations) that turns configuration p_id as revision p_from left it into '
  'what revision p_to left (null: the configuration as it is now); a deleted configuration is JSON null. Raises P0002 when '
  'either revision does not exist (never, or pruned), 22004 when p_from is null, 22P02 when p_id is not a ULID.';

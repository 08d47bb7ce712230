CREATE OR REPLACE FUNCTION revision_latest()
  RETURNS bigint
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
-- The newest revision is its resource's newest, which pruning keeps.
RETURN (SELECT coalesce(max(revision), 0) FROM revisions);

COMMENT ON FUNCTION revision_latest() IS
  'The newest revision committed (0 when there is none): the cursor to follow change_list() from, after reading '
  'the resources.';

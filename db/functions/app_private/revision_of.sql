CREATE OR REPLACE FUNCTION app_private.revision_of(p_entity text, p_id text, p_revision bigint)
  RETURNS revisions
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_revision revisions;
BEGIN
  IF p_revision IS NULL THEN
    RAISE EXCEPTION 'a revision number is required'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT * INTO v_revision FROM revisions WHERE id = p_id AND revision = p_revision AND entity = p_entity;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% % has no revision %', p_entity, p_id, p_revision
      USING ERRCODE = 'no_data_found',
            HINT = format('%s_revisions() lists the revisions kept; older ones are pruned (revisions_prune()).',
                          CASE p_entity WHEN 'application' THEN 'app' ELSE 'config' END);
  END IF;
  RETURN v_revision;
END;
$$;

COMMENT ON FUNCTION app_private.revision_of(text, text, bigint) IS
  'The row of revision p_revision of the p_entity (application|configuration) p_id (a normalised id). Raises '
  'P0002 when there is none (never, or pruned), 22004 when p_revision is null.';

CREATE OR REPLACE FUNCTION app_private.revision_document(p_revision revisions)
  RETURNS json
  LANGUAGE sql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
-- jsonb_set rather than ||: a deletion's state is a JSON null, which || would drop.
AS $$
  SELECT jsonb_set(app_private.revision_entry(p_revision), '{state}', coalesce(p_revision.state, 'null'::jsonb))::json;
$$;

COMMENT ON FUNCTION app_private.revision_document(revisions) IS
  'A revision with its state: app_private.revision_entry() and {state}, the resource as its *_get returned it '
  'after the change (null after a delete).';

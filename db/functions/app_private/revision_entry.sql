CREATE OR REPLACE FUNCTION app_private.revision_entry(p_revision revisions)
  RETURNS jsonb
  LANGUAGE sql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
-- In UTC with microseconds, whatever the session's TimeZone: one form for every reader.
RETURN jsonb_strip_nulls(jsonb_build_object(
  'revision', p_revision.revision,
  'action', p_revision.action,
  'at', to_char(p_revision.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
  'by', p_revision.changed_by,
  'etag', p_revision.etag));

COMMENT ON FUNCTION app_private.revision_entry(revisions) IS
  'A revision as a history lists it: {revision, action, at (UTC, RFC 3339), by (the role), etag (absent after a delete)}.';

CREATE OR REPLACE FUNCTION app_private.change_entry(p_revision revisions)
  RETURNS jsonb
  LANGUAGE sql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
-- The notification's fields (app_private.revision_record) and the time, in UTC whatever the
-- session's TimeZone.
RETURN jsonb_strip_nulls(jsonb_build_object(
  'revision', p_revision.revision,
  'entity', p_revision.entity,
  'action', p_revision.action,
  'id', p_revision.id,
  'application_id', p_revision.application_id,
  'etag', p_revision.etag,
  'application_etag', p_revision.application_etag,
  'at', to_char(p_revision.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')));

COMMENT ON FUNCTION app_private.change_entry(revisions) IS
  'A revision as the change feed lists it: {revision, entity, action, id, application_id, etag (absent after a '
  'delete), application_etag (a configuration''s creation or deletion), at (UTC, RFC 3339)}.';

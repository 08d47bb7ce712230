CREATE OR REPLACE FUNCTION app_private.notify_change(
  p_entity text,
  p_action text,
  p_id text,
  p_application_id text,
  p_document json DEFAULT NULL
)
  RETURNS void
  LANGUAGE sql
  VOLATILE
  SET search_path = pg_catalog, public, pg_temp
-- Sent in the writer's transaction: every listener gets it when that commits, and nobody if it
-- rolls back. The functions are the only writers, so no trigger is needed. jsonb writes it in
-- one line, in the form of every other body the API sends.
-- A configuration's creation or deletion changes its application's configuration_ids, hence its
-- ETag: the application's new tag rides along for its watchers.
AS $$
  SELECT pg_notify('appconfig_changes', jsonb_strip_nulls(jsonb_build_object(
    'entity', p_entity,
    'action', p_action,
    'id', p_id,
    'application_id', p_application_id,
    'etag', app_private.etag(p_document),
    'application_etag', CASE WHEN p_entity = 'configuration' AND p_action <> 'updated'
                             THEN app_private.etag(app_get(p_application_id)) END))::text);
$$;

COMMENT ON FUNCTION app_private.notify_change(text, text, text, text, json) IS
  'Sends one notification on channel appconfig_changes, delivered at commit: {entity (application|configuration), '
  'action (created|updated|deleted), id, application_id, etag (the new ETag of p_document, absent on delete), '
  'application_etag (a configuration''s creation or deletion: its application''s new ETag)}.';

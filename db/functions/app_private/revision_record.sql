CREATE OR REPLACE FUNCTION app_private.revision_record(
  p_entity text,
  p_action text,
  p_id text,
  p_application_id text,
  p_state jsonb DEFAULT NULL,
  -- The application's ETag after this change, when the tables do not show it yet (a TRUNCATE,
  -- recorded before its rows go); null: read here.
  p_application_etag text DEFAULT NULL
)
  RETURNS bigint
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_etag constant text := CASE WHEN p_state IS NOT NULL THEN app_private.etag(p_state::json) END;
  v_application_etag text;
  v_revision bigint;
BEGIN
  -- Numbered in commit order (see app_private.revision_lock); the triggers call this at commit
  -- (they are deferred), so the lock is held for the commit alone.
  PERFORM app_private.revision_lock();
  -- A configuration's creation or deletion changes its application's configuration_ids, hence
  -- its ETag: the application's new tag rides along for its watchers (none once it is gone). Read
  -- under the lock: as of this revision, every earlier one committed and no later one.
  IF p_application_etag IS NOT NULL THEN
    v_application_etag := p_application_etag;
  ELSIF p_entity = 'configuration' AND p_action <> 'updated' THEN
    SELECT app_private.etag(app_private.application_state(a)::json) INTO v_application_etag
      FROM applications a WHERE a.id = p_application_id;
  END IF;
  v_revision := nextval('revision_numbers');
  INSERT INTO revisions (revision, entity, id, application_id, action, state, etag, application_etag, changed_at, changed_by)
  VALUES (v_revision, p_entity, p_id, p_application_id, p_action, p_state, v_etag, v_application_etag, now(),
          -- The role that wrote: SET ROLE's when one is set (SECURITY DEFINER hides it from
          -- current_user), else the session's.
          CASE WHEN current_setting('role') = 'none' THEN session_user ELSE current_setting('role') END);
  -- Delivered when this transaction commits, to every listener, and never if it rolls back.
  -- jsonb writes it in one line, in the form of every other body the API sends.
  PERFORM pg_notify('appconfig_changes', jsonb_strip_nulls(jsonb_build_object(
    'revision', v_revision,
    'entity', p_entity,
    'action', p_action,
    'id', p_id,
    'application_id', p_application_id,
    'etag', v_etag,
    'application_etag', v_application_etag))::text);
  RETURN v_revision;
END;
$$;

COMMENT ON FUNCTION app_private.revision_record(text, text, text, text, jsonb, text) IS
  'Records one change as the next revision, numbered in commit order, and notifies channel appconfig_changes '
  '(delivered at commit): {revision, entity (application|configuration), action (created|updated|deleted), id, '
  'application_id, etag (of p_state, the resource after the change; absent on delete), application_etag (a '
  'configuration''s creation or deletion: its application''s new ETag, p_application_etag when given)}. Returns the '
  'revision.';

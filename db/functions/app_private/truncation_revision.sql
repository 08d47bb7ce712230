CREATE OR REPLACE FUNCTION app_private.truncation_revision()
  RETURNS trigger
  LANGUAGE plpgsql
  VOLATILE
  -- It fires for whoever truncates the table, and reaches app_private and revisions as their owner.
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id text;
  v_application_id text;
  v_application_etag text;
BEGIN
  -- TRUNCATE fires no row trigger: every row it removes is recorded as deleted here, before it
  -- goes, as a DELETE of each would have been. Under the lock that numbers revisions, so that
  -- what is read below is as of this revision (see app_private.revision_lock).
  PERFORM app_private.revision_lock();
  -- The configurations first, whichever table's trigger fires first: an application's go with it
  -- (a TRUNCATE of applications names configurations too, or cascades to it), and PostgreSQL
  -- fires the triggers in the order the tables were named. The second skips those recorded.
  -- Each deletion carries its application's ETag once it is gone, as a DELETE of each in id order
  -- would: the table still holds them all, so revision_record cannot read that from it.
  FOR v_id, v_application_id, v_application_etag IN
    SELECT c.id, c.application_id,
           app_private.etag(jsonb_set(app_private.application_state(a), '{configuration_ids}', coalesce(
             (SELECT jsonb_agg(later.id ORDER BY later.id) FROM configurations later
               WHERE later.application_id = c.application_id AND later.id > c.id), '[]'::jsonb))::json)
      FROM configurations c JOIN applications a ON a.id = c.application_id
     WHERE (SELECT r.action FROM revisions r WHERE r.id = c.id AND r.entity = 'configuration'
             ORDER BY r.revision DESC LIMIT 1) IS DISTINCT FROM 'deleted'
     ORDER BY c.id
  LOOP
    PERFORM app_private.revision_record('configuration', 'deleted', v_id, v_application_id, NULL, v_application_etag);
  END LOOP;
  IF TG_TABLE_NAME = 'applications' THEN
    FOR v_id IN SELECT id FROM applications ORDER BY id LOOP
      PERFORM app_private.revision_record('application', 'deleted', v_id, v_id);
    END LOOP;
  END IF;
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_private.truncation_revision() IS
  'The triggers applications_truncation and configurations_truncation: records every row a TRUNCATE removes as '
  'deleted (app_private.revision_record).';

DROP TRIGGER IF EXISTS configurations_truncation ON configurations;
CREATE TRIGGER configurations_truncation
  BEFORE TRUNCATE ON configurations
  FOR EACH STATEMENT EXECUTE FUNCTION app_private.truncation_revision();
DROP TRIGGER IF EXISTS applications_truncation ON applications;
CREATE TRIGGER applications_truncation
  BEFORE TRUNCATE ON applications
  FOR EACH STATEMENT EXECUTE FUNCTION app_private.truncation_revision();

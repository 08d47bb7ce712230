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
BEGIN
  -- TRUNCATE fires no row trigger: every row it removes is recorded as deleted here, before it
  -- goes, as a DELETE of each would have been.
  IF TG_TABLE_NAME = 'configurations' THEN
    FOR v_id, v_application_id IN SELECT id, application_id FROM configurations ORDER BY id LOOP
      PERFORM app_private.revision_record('configuration', 'deleted', v_id, v_application_id);
    END LOOP;
  ELSE
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

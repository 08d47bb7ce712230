CREATE OR REPLACE FUNCTION app_private.configuration_revision()
  RETURNS trigger
  LANGUAGE plpgsql
  VOLATILE
  -- It fires for whoever writes the table, and reaches app_private and revisions as their owner.
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  -- A row moved to another id or application (possible only in psql) is one resource gone and
  -- another created: each application's watchers hear of their own.
  v_moved constant boolean := TG_OP = 'UPDATE' AND (OLD.id <> NEW.id OR OLD.application_id <> NEW.application_id);
BEGIN
  IF TG_OP = 'DELETE' OR v_moved THEN
    PERFORM app_private.revision_record('configuration', 'deleted', OLD.id, OLD.application_id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM app_private.revision_record('configuration',
                                        CASE WHEN TG_OP = 'UPDATE' AND NOT v_moved THEN 'updated' ELSE 'created' END,
                                        NEW.id, NEW.application_id, app_private.configuration_state(NEW));
  END IF;
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_private.configuration_revision() IS
  'The trigger configurations_revision: records each inserted, updated or deleted configuration as a revision '
  '(app_private.revision_record), at commit.';

-- Deferred to commit, so that the lock that numbers revisions is held for the commit alone, and
-- a constraint trigger, which alone can be deferred. (CREATE OR REPLACE does not take one.)
DROP TRIGGER IF EXISTS configurations_revision ON configurations;
CREATE CONSTRAINT TRIGGER configurations_revision
  AFTER INSERT OR UPDATE OR DELETE ON configurations
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION app_private.configuration_revision();

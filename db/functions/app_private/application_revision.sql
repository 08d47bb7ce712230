CREATE OR REPLACE FUNCTION app_private.application_revision()
  RETURNS trigger
  LANGUAGE plpgsql
  VOLATILE
  -- It fires for whoever writes the table, and reaches app_private and revisions as their owner.
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
BEGIN
  -- The lock that numbers revisions, taken before the state is built: the next statement's
  -- snapshot (READ COMMITTED) then holds every revision numbered before this one, so the state's
  -- configuration_ids, and its ETag, are the application's as of this commit.
  PERFORM app_private.revision_lock();
  -- A row whose id changes (possible only in psql) is one resource gone and another created.
  IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.id <> NEW.id) THEN
    PERFORM app_private.revision_record('application', 'deleted', OLD.id, OLD.id);
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM app_private.revision_record('application',
                                        CASE WHEN TG_OP = 'UPDATE' AND OLD.id = NEW.id THEN 'updated' ELSE 'created' END,
                                        NEW.id, NEW.id, app_private.application_state(NEW));
  END IF;
  RETURN NULL;
END;
$$;

COMMENT ON FUNCTION app_private.application_revision() IS
  'The trigger applications_revision: records each inserted, updated or deleted application as a revision '
  '(app_private.revision_record), at commit.';

-- Deferred to commit, so that the lock that numbers revisions is held for the commit alone, and
-- a constraint trigger, which alone can be deferred. (CREATE OR REPLACE does not take one.)
DROP TRIGGER IF EXISTS applications_revision ON applications;
CREATE CONSTRAINT TRIGGER applications_revision
  AFTER INSERT OR UPDATE OR DELETE ON applications
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION app_private.application_revision();

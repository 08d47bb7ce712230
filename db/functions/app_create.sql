CREATE OR REPLACE FUNCTION app_create(p_name text, p_comments text DEFAULT NULL, p_id text DEFAULT NULL)
  RETURNS json
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := CASE WHEN p_id IS NULL THEN app_private.ulid_generate() ELSE app_private.ulid_normalize(p_id) END;
  v_name constant text := app_private.field_check('name', p_name, 256, true);
  v_comments constant text := app_private.field_check('comments', p_comments, 1024, false);
BEGIN
  -- ON CONFLICT instead of catching unique_violation: no subtransaction per call,
  -- and concurrent inserts of one name wait for each other, so exactly one wins.
  INSERT INTO applications (id, name, comments)
  VALUES (v_id, v_name, v_comments)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM applications WHERE id = v_id) THEN
      RAISE EXCEPTION 'an application with id % already exists', v_id
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'applications_pkey';
    END IF;
    RAISE EXCEPTION 'an application named "%" already exists', v_name
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'applications_name_key',
            HINT = 'Application names are unique: choose another name, or update the existing application.';
  END IF;
  RETURN app_get(v_id);
END;
$$;

COMMENT ON FUNCTION app_create(text, text, text) IS
  'Creates an application and returns it as app_get() does; p_id is generated (a new ULID) when null. '
  'Raises 23505 when the name or id is taken, 22004/22023/22001 for a null, empty or over-long field, '
  '22P02 when p_id is not a ULID. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

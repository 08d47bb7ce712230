CREATE OR REPLACE FUNCTION config_create(
  p_application_id text,
  p_name text,
  p_config jsonb,
  p_comments text DEFAULT NULL,
  p_id text DEFAULT NULL
)
  RETURNS json
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_id constant text := CASE WHEN p_id IS NULL THEN app_private.ulid_generate() ELSE app_private.ulid_normalize(p_id) END;
  v_application_id constant text := app_private.ulid_normalize(p_application_id, 'application_id');
  v_name constant text := app_private.field_check('name', p_name, 256, true);
  v_comments constant text := app_private.field_check('comments', p_comments, 1024, false);
  v_config constant jsonb := app_private.config_check(p_config);
BEGIN
  -- Checked first for a message that names the application; the foreign key
  -- still guards the insert.
  IF NOT EXISTS (SELECT FROM applications WHERE id = v_application_id) THEN
    RAISE EXCEPTION 'application % does not exist', v_application_id
      USING ERRCODE = 'foreign_key_violation', CONSTRAINT = 'configurations_application_id_fkey',
            HINT = 'Create the application first, or list them with app_list().';
  END IF;
  -- ON CONFLICT as in app_create: concurrent inserts of one name, exactly one wins.
  INSERT INTO configurations (id, application_id, name, comments, config)
  VALUES (v_id, v_application_id, v_name, v_comments, v_config)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    IF EXISTS (SELECT FROM configurations WHERE id = v_id) THEN
      RAISE EXCEPTION 'a configuration with id % already exists', v_id
        USING ERRCODE = 'unique_violation', CONSTRAINT = 'configurations_pkey';
    END IF;
    RAISE EXCEPTION 'application % already has a configuration named "%"', v_application_id, v_name
      USING ERRCODE = 'unique_violation', CONSTRAINT = 'configurations_unique_name_per_app',
            HINT = 'Configuration names are unique within an application: choose another name.';
  END IF;
  RETURN config_get(v_id);
END;
$$;

COMMENT ON FUNCTION config_create(text, text, jsonb, text, text) IS
  'Creates a configuration of application p_application_id and returns it as config_get() does; p_id is '
  'generated when null. Raises 23503 when the application does not exist, 23505 when the name is taken '
  'within it (or the id is taken), 22023 when p_config is not a JSON object, 54000 when it is over 1 MiB as JSON text, 22004/22001/22P02 for bad input. Recorded as a revision, and notified on channel appconfig_changes at commit (see app_private.revision_record).';

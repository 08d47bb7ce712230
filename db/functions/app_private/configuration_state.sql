CREATE OR REPLACE FUNCTION app_private.configuration_state(p_configuration configurations)
  RETURNS jsonb
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
-- Built as config_get() builds it (revisions_test checks that their ETags agree). PL/pgSQL for
-- the reason app_private.application_state gives: the triggers call it in a new query each time.
AS $$
BEGIN
  RETURN jsonb_build_object(
           'id', p_configuration.id,
           'application_id', p_configuration.application_id,
           'name', p_configuration.name,
           'comments', p_configuration.comments,
           'config', p_configuration.config);
END;
$$;

COMMENT ON FUNCTION app_private.configuration_state(configurations) IS
  'The configuration row p_configuration as config_get() returns it, as jsonb.';

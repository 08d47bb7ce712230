CREATE OR REPLACE FUNCTION app_private.application_state(p_application applications)
  RETURNS jsonb
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, public, pg_temp
-- Built as app_get() builds it (revisions_test checks that their ETags agree): a revision's
-- state and ETag are the application's as GET returned them.
-- PL/pgSQL although it is one statement: the triggers call it once per change, each time in a
-- new query, and an SQL function is planned again in each (65 µs a call against 10 measured;
-- PL/pgSQL keeps its plan for the session).
AS $$
BEGIN
  RETURN jsonb_build_object(
           'id', p_application.id,
           'name', p_application.name,
           'comments', p_application.comments,
           'configuration_ids', coalesce(
             (SELECT jsonb_agg(c.id ORDER BY c.id) FROM configurations c WHERE c.application_id = p_application.id),
             '[]'::jsonb));
END;
$$;

COMMENT ON FUNCTION app_private.application_state(applications) IS
  'The application row p_application as app_get() returns it (with its configuration_ids as of now), as jsonb.';

-- The same rows as config_list(), as one JSON array with the last id: streaming all of an
-- application's configurations, the API passes each page on as text and asks for the next
-- one after that id (which it cannot find by searching the text: configs may hold "id"s).
CREATE OR REPLACE FUNCTION config_list_page(
  p_application_id text,
  p_after text DEFAULT NULL,
  p_limit integer DEFAULT NULL,
  p_name text DEFAULT NULL,
  p_max_bytes integer DEFAULT NULL
)
  RETURNS TABLE (page json, last_id text)
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
BEGIN ATOMIC
  SELECT s.page, s.page -> -1 ->> 'id'
    FROM (SELECT coalesce(json_agg(l.configuration), '[]'::json) AS page
            FROM config_list(p_application_id, p_after, p_limit, p_name, p_max_bytes) AS l(configuration)) AS s;
END;

COMMENT ON FUNCTION config_list_page(text, text, integer, text, integer) IS
  'config_list(p_application_id, p_after, p_limit, p_name, p_max_bytes) as one JSON array (empty: []), with the '
  'id of its last configuration (null when empty). Raises what config_list() raises.';

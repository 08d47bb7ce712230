-- The same rows as app_list(), as one JSON array: streaming every application, the API
-- passes each page on as text without handling a row at a time.
CREATE OR REPLACE FUNCTION app_list_page(p_after text DEFAULT NULL, p_limit integer DEFAULT NULL, p_name text DEFAULT NULL)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
RETURN (
  SELECT coalesce(json_agg(page.application), '[]'::json) FROM app_list(p_after, p_limit, p_name) AS page(application)
);

COMMENT ON FUNCTION app_list_page(text, integer, text) IS
  'app_list(p_after, p_limit, p_name) as one JSON array (empty: []). Raises what app_list() raises.';

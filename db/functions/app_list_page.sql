-- The same rows as app_list(), as one JSON array: streaming every application, the API
-- passes each page on as text without handling a row at a time.
CREATE OR REPLACE FUNCTION app_list_page(
  p_after text DEFAULT NULL, p_limit integer DEFAULT NULL, p_name text DEFAULT NULL, p_max_bytes integer DEFAULT NULL
)
  RETURNS json
  LANGUAGE sql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
RETURN (
  -- With p_max_bytes, the rows up to the one whose text reaches it: a page stays about that size
  -- however long the names and comments are. Cut only when the whole is over it, as pages of
  -- ordinary applications never are: the cut costs a listing a sixth of its rate.
  WITH page AS (
    SELECT coalesce(json_agg(l.application), '[]'::json) AS whole FROM app_list(p_after, p_limit, p_name) AS l(application)
  )
  SELECT CASE
           WHEN p_max_bytes IS NULL OR octet_length(page.whole::text) <= p_max_bytes THEN page.whole
           ELSE (SELECT coalesce(json_agg(cut.application ORDER BY cut.n), '[]'::json)
                   FROM (SELECT l.application, l.n,
                                sum(octet_length(l.application::text)) OVER (ORDER BY l.n)
                                  - octet_length(l.application::text) AS before
                           FROM app_list(p_after, p_limit, p_name) WITH ORDINALITY AS l(application, n)) AS cut
                  WHERE cut.before < p_max_bytes)
         END
    FROM page
);

COMMENT ON FUNCTION app_list_page(text, integer, text, integer) IS
  'app_list(p_after, p_limit, p_name) as one JSON array (empty: []), no more rows once they take p_max_bytes '
  'as JSON text (the row that reaches it included; null: no bound). Raises what app_list() raises.';

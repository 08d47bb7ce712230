CREATE OR REPLACE FUNCTION app_private.revision_list(p_entity text, p_id text, p_before bigint, p_limit integer)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_page json;
BEGIN
  IF p_limit < 1 THEN
    RAISE EXCEPTION 'limit must be at least 1, not %', p_limit
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF NOT EXISTS (SELECT FROM revisions WHERE id = p_id AND entity = p_entity) THEN
    RAISE EXCEPTION '% % has no revisions', p_entity, p_id
      USING ERRCODE = 'no_data_found', HINT = 'It never existed, or not since revisions are kept.';
  END IF;
  SELECT coalesce(json_agg(app_private.revision_entry(r) ORDER BY r.revision DESC), '[]'::json)
    INTO v_page
    FROM (SELECT *
            FROM revisions
           WHERE id = p_id AND entity = p_entity AND (p_before IS NULL OR revision < p_before)
           ORDER BY revision DESC
           LIMIT p_limit) AS r;
  RETURN v_page;
END;
$$;

COMMENT ON FUNCTION app_private.revision_list(text, text, bigint, integer) IS
  'The revisions of the p_entity p_id (a normalised id), newest first, as a JSON array of '
  'app_private.revision_entry(): those before p_before (null: from the newest), at most p_limit (null: all). '
  'Raises P0002 when it has none, 22023 when p_limit < 1.';

CREATE OR REPLACE FUNCTION change_list(
  p_after bigint DEFAULT NULL,
  p_limit integer DEFAULT NULL,
  p_application_id text DEFAULT NULL
)
  RETURNS json
  LANGUAGE plpgsql
  STABLE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_pruned_through constant bigint := (SELECT pruned_through FROM app_private.revision_retention);
  v_application_id constant text :=
    CASE WHEN p_application_id IS NOT NULL THEN app_private.ulid_normalize(p_application_id, 'application_id') END;
  v_page json;
BEGIN
  IF p_limit < 1 THEN
    RAISE EXCEPTION 'limit must be at least 1, not %', p_limit
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_after < v_pruned_through THEN
    RAISE EXCEPTION 'changes after revision % are no longer all kept: the oldest complete cursor is %', p_after, v_pruned_through
      USING ERRCODE = 'PT410', HINT = 'Read the resources again, then follow the changes from revision_latest().';
  END IF;
  -- Before its first nextval a sequence's last_value is its start, 1, which no revision has reached yet.
  IF p_after > (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM revision_numbers) THEN
    RAISE EXCEPTION 'revision % has not been reached in this database (a cursor from another, or from before a restore)', p_after
      USING ERRCODE = 'PT410', HINT = 'Read the resources again, then follow the changes from revision_latest().';
  END IF;
  -- No safe point is needed: revisions commit in the order of their numbers (see
  -- app_private.revision_record), so what this snapshot sees is every revision up to some number.
  SELECT coalesce(json_agg(app_private.change_entry(r) ORDER BY r.revision), '[]'::json)
    INTO v_page
    FROM (SELECT *
            FROM revisions
           WHERE revision > coalesce(p_after, v_pruned_through)
             AND (v_application_id IS NULL OR application_id = v_application_id)
           ORDER BY revision
           LIMIT p_limit) AS r;
  RETURN v_page;
END;
$$;

COMMENT ON FUNCTION change_list(bigint, integer, text) IS
  'Every change after revision p_after (null: from the oldest kept), in revision order, as a JSON array of '
  '{revision, entity, action, id, application_id, etag, application_etag, at}: at most p_limit (null: all), only '
  'those of application p_application_id (it and its configurations) when given. None is ever skipped or repeated '
  'by a reader that resumes after the last revision it read. Raises PT410 when changes after p_after have been '
  'pruned (or p_after was never reached here), 22023 when p_limit < 1, 22P02 when p_application_id is not a ULID.';

CREATE OR REPLACE FUNCTION app_private.if_match(p_if_match text, p_current json, p_what text)
  RETURNS void
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_etag text;
BEGIN
  -- NULL: no condition. '*': the resource exists, which the caller has established.
  IF p_if_match IS NULL OR btrim(p_if_match) = '*' THEN
    RETURN;
  END IF;
  v_etag := app_private.etag(p_current);
  -- Strong comparison (RFC 9110 13.1.1): a weak tag W/"…" never matches.
  IF v_etag = ANY (regexp_split_to_array(btrim(p_if_match), '\s*,\s*')) THEN
    RETURN;
  END IF;
  RAISE EXCEPTION '% has changed since that ETag was read: it is now %', p_what, v_etag
    USING ERRCODE = 'PT412', HINT = 'Read it again, then retry with its current ETag.';
END;
$$;

COMMENT ON FUNCTION app_private.if_match(text, json, text) IS
  'Raises PT412 unless p_if_match (an If-Match value: *, or entity tags separated by commas) '
  'matches the ETag of p_current, the resource p_what as it is now; null p_if_match passes.';

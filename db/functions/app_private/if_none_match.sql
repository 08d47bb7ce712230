-- If-None-Match on a write (RFC 9110 13.1.2): the write goes ahead only if none of the tags
-- matches the resource as it is now; `*` only if it does not exist, which on an update or a
-- delete it does (the caller has locked it), so `*` always refuses there.
CREATE OR REPLACE FUNCTION app_private.if_none_match(p_if_none_match text, p_current json, p_what text)
  RETURNS void
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_etag text;
BEGIN
  IF p_if_none_match IS NULL THEN
    RETURN;
  END IF;
  v_etag := app_private.etag(p_current);
  IF btrim(p_if_none_match) = '*' THEN
    RAISE EXCEPTION '% exists, and If-None-Match: * writes only what does not', p_what
      USING ERRCODE = 'PT412', HINT = 'Leave out If-None-Match to write over it, or send If-Match with its ETag.';
  END IF;
  -- Weak comparison (RFC 9110 13.1.1): W/"x" matches "x".
  IF v_etag = ANY (SELECT regexp_replace(tag, '^W/', '') FROM unnest(regexp_split_to_array(btrim(p_if_none_match), '\s*,\s*')) AS tag) THEN
    RAISE EXCEPTION '% is still as that ETag says (%), which If-None-Match refuses', p_what, v_etag
      USING ERRCODE = 'PT412', HINT = 'Read it again, then decide.';
  END IF;
END;
$$;

COMMENT ON FUNCTION app_private.if_none_match(text, json, text) IS
  'Raises PT412 when p_if_none_match (an If-None-Match value: *, or entity tags separated by commas, compared '
  'weakly) matches p_current, the resource p_what as it is now; * always matches what exists; null passes.';

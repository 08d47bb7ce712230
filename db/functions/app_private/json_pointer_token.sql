CREATE OR REPLACE FUNCTION app_private.json_pointer_token(p_key text)
  RETURNS text
  LANGUAGE sql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
-- RFC 6901 section 3: "~" first, or the "~" of an escaped "/" would be escaped again.
RETURN replace(replace(p_key, '~', '~0'), '/', '~1');

COMMENT ON FUNCTION app_private.json_pointer_token(text) IS
  'An object key as one JSON Pointer reference token (RFC 6901): ~ as ~0, / as ~1.';

CREATE OR REPLACE FUNCTION app_private.etag(p_document json)
  RETURNS text
  LANGUAGE plpgsql
  IMMUTABLE
  PARALLEL SAFE
  SET search_path = pg_catalog, public, pg_temp
-- The document's own text, hashed: equal content gives an equal tag in any process and after
-- any restart, and the API computes the same tag from the same text it sends (api/etags.py).
-- PL/pgSQL for the reason app_private.application_state gives: every recorded revision calls it.
AS $$
BEGIN
  RETURN '"' || left(encode(sha256(convert_to(p_document::text, 'UTF8')), 'hex'), 32) || '"';
END;
$$;

COMMENT ON FUNCTION app_private.etag(json) IS
  'The strong ETag of a resource as the *_get functions return it: "<the first 32 hex digits of '
  'the SHA-256 of its JSON text>", quotes included.';

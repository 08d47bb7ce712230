CREATE OR REPLACE FUNCTION app_private.json_patch(p_from jsonb, p_to jsonb, p_path text DEFAULT '', p_depth integer DEFAULT 0)
  RETURNS jsonb
  LANGUAGE plpgsql
  IMMUTABLE
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_ops jsonb[] := '{}';
  v_key text;
  v_from_length integer;
  v_to_length integer;
  v_index integer;
BEGIN
  -- jsonb equality: numbers by value (1.0 = 1.00), objects whatever their key order.
  IF p_from IS NOT DISTINCT FROM p_to THEN
    RETURN '[]'::jsonb;
  END IF;
  -- Beyond 100 levels (a config written in psql may nest deeper than the API takes) the whole
  -- value is replaced: recursing on would reach PostgreSQL's stack limit (54001).
  IF p_depth >= 100 THEN
    RETURN jsonb_build_array(jsonb_build_object('op', 'replace', 'path', p_path, 'value', coalesce(p_to, 'null'::jsonb)));
  END IF;
  IF jsonb_typeof(p_from) = 'object' AND jsonb_typeof(p_to) = 'object' THEN
    FOR v_key IN SELECT k FROM jsonb_object_keys(p_from) AS k WHERE NOT p_to ? k ORDER BY k LOOP
      v_ops := v_ops || jsonb_build_object('op', 'remove', 'path', p_path || '/' || app_private.json_pointer_token(v_key));
    END LOOP;
    FOR v_key IN SELECT k FROM jsonb_object_keys(p_to) AS k ORDER BY k LOOP
      IF p_from ? v_key THEN
        v_ops := v_ops || ARRAY(SELECT jsonb_array_elements(app_private.json_patch(
          p_from -> v_key, p_to -> v_key, p_path || '/' || app_private.json_pointer_token(v_key), p_depth + 1)));
      ELSE
        v_ops := v_ops || jsonb_build_object('op', 'add', 'path', p_path || '/' || app_private.json_pointer_token(v_key),
                                             'value', p_to -> v_key);
      END IF;
    END LOOP;
  ELSIF jsonb_typeof(p_from) = 'array' AND jsonb_typeof(p_to) = 'array' THEN
    v_from_length := jsonb_array_length(p_from);
    v_to_length := jsonb_array_length(p_to);
    -- Element by element where both have one, then add to or remove from the end (from the last
    -- backwards, so that each index is still the one meant when the operation applies).
    FOR v_index IN 0 .. least(v_from_length, v_to_length) - 1 LOOP
      v_ops := v_ops || ARRAY(SELECT jsonb_array_elements(app_private.json_patch(
        p_from -> v_index, p_to -> v_index, p_path || '/' || v_index, p_depth + 1)));
    END LOOP;
    FOR v_index IN v_from_length .. v_to_length - 1 LOOP
      v_ops := v_ops || jsonb_build_object('op', 'add', 'path', p_path || '/-', 'value', p_to -> v_index);
    END LOOP;
    FOR v_index IN REVERSE v_from_length - 1 .. v_to_length LOOP
      v_ops := v_ops || jsonb_build_object('op', 'remove', 'path', p_path || '/' || v_index);
    END LOOP;
  ELSE
    -- Different kinds, a scalar changed, or a document that does not exist (a deletion: SQL
    -- null) on one side: the whole value at this path is replaced, the document with path "".
    v_ops := ARRAY[jsonb_build_object('op', 'replace', 'path', p_path, 'value', coalesce(p_to, 'null'::jsonb))];
  END IF;
  RETURN to_jsonb(v_ops);
END;
$$;

COMMENT ON FUNCTION app_private.json_patch(jsonb, jsonb, text, integer) IS
  'An RFC 6902 JSON Patch (a JSON array of operations) that turns p_from into p_to, its paths under the JSON '
  'Pointer p_path, p_depth levels down: remove, add and replace only, object keys in order, array elements by '
  'index; a value 100 levels down is replaced whole. A null (SQL) document is JSON null.';

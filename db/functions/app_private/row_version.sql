CREATE OR REPLACE FUNCTION app_private.row_version(p_xmin xid)
  RETURNS bigint
  LANGUAGE plpgsql
  STABLE
  SET search_path = pg_catalog, public, pg_temp
-- What lets a reader ask "is this row still the one I read?" without reading it again: the full
-- (64-bit) id of the transaction that wrote the row, known from its 32-bit xmin as the one id
-- with those low bits in the 2^32 ids before the snapshot's next id. Given only when that
-- transaction ended before every transaction the snapshot sees running (below its xmin S).
--
-- Why equal versions mean the same row version: say a later read finds another row version W, of
-- the same key, with the same version F. W was not visible to the first read (that read saw V, and
-- a key has one visible row version), so the transaction T that wrote W had not ended before that
-- read's snapshot: T >= S > F. T is also below the later snapshot's next id N, and W's version is
-- F, so F lies within the 2^32 ids before N as well. Two ids both in that window with the same low
-- bits are equal: T = F, a contradiction. So the row is the same version whoever wrote since (any
-- role, with or without triggers), including after freezing, which keeps the xmin's bits, or a
-- VACUUM FULL, which keeps xmin. What it does not cover is a database whose history goes back (a
-- restore, a failover that lost commits): ids are reused; the API forgets every version it holds
-- when its pool connects anew (api/db/versions.py).
AS $$
DECLARE
  v_snapshot constant pg_snapshot := pg_current_snapshot();
  v_next constant bigint := pg_snapshot_xmax(v_snapshot)::text::bigint;
  v_version constant bigint := v_next - mod(mod(v_next - p_xmin::text::bigint, 4294967296) + 4294967296, 4294967296);
BEGIN
  IF v_version < pg_snapshot_xmin(v_snapshot)::text::bigint THEN
    RETURN v_version;
  END IF;
  RETURN NULL;  -- its writer ended too recently to be told apart from later ones: read in full
END;
$$;

COMMENT ON FUNCTION app_private.row_version(xid) IS
  'The version of a row read now, from its xmin: the full id of the transaction that wrote it, or NULL '
  'while that transaction is not yet older than every running one. Equal versions of a key''s row, '
  'read at any two times, mean the same row version (the proof is in the function''s source).';

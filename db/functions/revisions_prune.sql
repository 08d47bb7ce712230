CREATE OR REPLACE FUNCTION revisions_prune(
  p_keep integer DEFAULT 100,
  p_max_age interval DEFAULT '7 days',
  p_batch integer DEFAULT 10000
)
  RETURNS TABLE (scanned bigint, deleted bigint)
  LANGUAGE plpgsql
  VOLATILE
  SECURITY DEFINER
  SET search_path = pg_catalog, public, pg_temp
AS $$
DECLARE
  v_cutoff constant timestamptz := now() - p_max_age;
  v_retention app_private.revision_retention;
  v_cut bigint;
  v_newest_deleted bigint;
BEGIN
  IF p_keep < 1 OR p_batch < 1 OR p_max_age < interval '0' THEN
    RAISE EXCEPTION 'p_keep and p_batch must be at least 1 and p_max_age not negative, not %, % and %', p_keep, p_batch, p_max_age
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- One pruner at a time; the others have nothing to do meanwhile.
  scanned := 0;
  deleted := 0;
  IF NOT pg_try_advisory_xact_lock(x'6170706366677270'::bigint) THEN  -- "appcfgrp"
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT * INTO v_retention FROM app_private.revision_retention;
  -- The revisions come of age since the last run, up to p_batch of them and up to the first
  -- that has not: an index range from where the last run stopped, never the whole table.
  WITH batch AS (
    SELECT revision, changed_at FROM revisions
     WHERE revision > v_retention.scanned_through
     ORDER BY revision
     LIMIT p_batch
  ), ripe AS (
    SELECT revision FROM batch
     WHERE revision < coalesce((SELECT min(revision) FROM batch WHERE changed_at >= v_cutoff), 'Infinity'::numeric)
  )
  SELECT max(revision), count(*) INTO v_cut, scanned FROM ripe;
  IF v_cut IS NULL THEN
    scanned := 0;
    RETURN NEXT;
    RETURN;
  END IF;
  -- Each resource with a revision among them loses its revisions that are both of age and older
  -- than its newest p_keep. One that was kept as one of those p_keep is looked at again when a
  -- newer revision of its resource comes of age.
  WITH touched AS (
    SELECT DISTINCT entity, id FROM revisions WHERE revision > v_retention.scanned_through AND revision <= v_cut
  ), doomed AS (
    -- Below the oldest of its newest p_keep, found by reading those p_keep alone: a resource
    -- written every second has some 600,000 revisions a week, and only those to delete are read.
    SELECT r.revision
      FROM touched t
     CROSS JOIN LATERAL (SELECT k.revision
                           FROM revisions k
                          WHERE k.id = t.id AND k.entity = t.entity
                          ORDER BY k.revision DESC
                         OFFSET p_keep - 1
                          LIMIT 1) AS kept
      JOIN revisions r ON r.id = t.id AND r.entity = t.entity AND r.revision < kept.revision
     WHERE r.revision <= v_cut AND r.changed_at < v_cutoff
  ), gone AS (
    DELETE FROM revisions WHERE revision IN (SELECT revision FROM doomed) RETURNING revision
  )
  SELECT count(*), max(g.revision) INTO deleted, v_newest_deleted FROM gone AS g;
  UPDATE app_private.revision_retention
     SET scanned_through = v_cut,
         pruned_through = greatest(pruned_through, coalesce(v_newest_deleted, 0));
  RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION revisions_prune(integer, interval, integer) IS
  'Deletes the revisions older than p_max_age that are not among the newest p_keep of their resource, looking at '
  'up to p_batch revisions that came of age since the last call; returns how many it looked at (p_batch: call it '
  'again to catch up) and how many it deleted. change_list() then answers PT410 to a cursor before the newest deleted. Raises 22023 for '
  'a p_keep or p_batch below 1 or a negative p_max_age. One call at a time: a concurrent one returns (0, 0).';

CREATE OR REPLACE FUNCTION app_private.revision_lock()
  RETURNS void
  LANGUAGE plpgsql
  VOLATILE
  SET search_path = pg_catalog, public, pg_temp
-- One lock, held until the transaction ends, around the taking of revision numbers: a
-- transaction takes its numbers only once every earlier taker has committed (or rolled back), so
-- revisions commit in the order of their numbers, and what a statement reads after taking it is
-- every change before its revision (a READ COMMITTED statement sees what committed before it).
-- Taking it again in the same transaction costs nothing. PL/pgSQL for the reason
-- app_private.application_state gives.
AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(x'6170706366677276'::bigint);  -- "appcfgrv"
END;
$$;

COMMENT ON FUNCTION app_private.revision_lock() IS
  'Takes the lock that numbers revisions in commit order, held until the transaction ends (see db/README.md, Revisions).';

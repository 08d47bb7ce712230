-- The helpers the functions share (checking fields, normalising and generating ids)
-- live in their own schema, apart from the interface: `\df` in public lists exactly
-- what a client or a DBA is meant to call. Only the owner may use the schema, so the
-- API's role cannot call a helper; the public functions reach them as SECURITY
-- DEFINER, with their owner's rights.
CREATE SCHEMA app_private;
REVOKE ALL ON SCHEMA app_private FROM PUBLIC;

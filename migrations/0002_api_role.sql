-- Least privilege for the API: the role appconfig_api may EXECUTE the functions
-- and read the migrations table (for /readyz), and nothing else. The data
-- functions are SECURITY DEFINER, so they reach the tables with the rights of
-- their owner, the role that runs the migrations. Grant appconfig_api to the
-- login role the API connects as (see the README).
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'appconfig_api') THEN
    CREATE ROLE appconfig_api NOLOGIN;
  END IF;
END
$$;

REVOKE ALL ON applications, configurations FROM PUBLIC;
GRANT SELECT ON migrations TO appconfig_api;

-- Functions the migration role creates from now on (the runner deploys them
-- after the migrations) are callable by appconfig_api only, not by PUBLIC.
-- PUBLIC's EXECUTE is a database-wide default, so it is revoked without IN SCHEMA.
ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO appconfig_api;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO appconfig_api;

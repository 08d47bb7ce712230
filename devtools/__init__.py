"""Development tools, beside the service and never part of it: the embedded PostgreSQL 16 and
the launcher of API processes, used by the Makefile, the tests and the bench.

The service never imports from here: it is given a DATABASE_URL. `make run` (`devtools.serve`)
resolves one first, starting and migrating the embedded server when none is configured
(`devtools.database.database_url`), for a checkout that should just run.
"""

"""Development tools, beside the service and never part of it: the embedded PostgreSQL 16 and
the launcher of API processes, used by the Makefile, the tests and the bench.

The service imports nothing from here when it is given a DATABASE_URL; only `python -m api`
with none configured starts the embedded server, for a checkout that should just run.
"""

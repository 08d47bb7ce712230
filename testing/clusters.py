"""Clusters of a test's own, for tests that stop their server or stream from it."""

from collections.abc import Iterator
from contextlib import contextmanager

import migrator
from devtools.embedded import EmbeddedPostgres, throwaway_cluster


@contextmanager
def own_migrated_cluster(dbname: str = "app") -> Iterator[EmbeddedPostgres]:
    """A throw-away cluster, started, with `dbname` migrated: for tests that stop it or stream
    from it, and so cannot share the suite's. Removed on exit."""
    server = throwaway_cluster()
    try:
        server.init()
        server.start()
        server.create_database(dbname)
        migrator.migrate(server.dsn(dbname))
        yield server
    finally:
        server.remove()

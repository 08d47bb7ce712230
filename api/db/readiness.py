"""Readiness: the database answers within a short timeout and its schema is this checkout's.

The schema check is `migrations.py verify`'s (the migrator library): no pending or unknown migrations,
no edited ones, and the functions in the catalog exactly those of db/functions/.
It runs on a connection of its own (not the pool's, which may be busy) and its
result is kept for a few seconds, so a probe every second costs little.
"""

import asyncio
import logging
import time

import psycopg2

import migrator

log = logging.getLogger(__name__)

UNREACHABLE = "the database cannot be reached"


class Readiness:
    def __init__(self, dsn: str, timeout_seconds: int = 2, cache_seconds: float = 5.0) -> None:
        self._dsn = dsn
        self._timeout_seconds = timeout_seconds
        self._cache_seconds = cache_seconds
        self._lock = asyncio.Lock()
        self._checked_at = -float("inf")
        self._problems: list[str] = []

    async def problems(self) -> list[str]:
        """Why the service is not ready: empty when it is."""
        async with self._lock:  # one check at a time; waiting probes share its result
            if time.monotonic() - self._checked_at > self._cache_seconds:
                self._problems = await asyncio.to_thread(self._check)
                self._checked_at = time.monotonic()
            return self._problems

    def _check(self) -> list[str]:
        try:
            conn = psycopg2.connect(self._dsn, connect_timeout=self._timeout_seconds, application_name="readyz")
        except psycopg2.Error as exc:
            log.warning("readiness: the database cannot be reached: %s", str(exc).strip())
            return [UNREACHABLE]
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT set_config('statement_timeout', %s, false)", (str(self._timeout_seconds * 1000),))
                # As the runner sees the catalog, whatever search_path the API's role has.
                cur.execute("SELECT set_config('search_path', 'public', false)")
            state = migrator.inspect(conn)
            problems = [problem.text for problem in state.problems]
        except (psycopg2.Error, migrator.MigrationError) as exc:
            log.warning("not ready: schema check failed: %s", str(exc).strip())
            problems = ["the schema could not be checked"]
        finally:
            conn.close()
        if problems:
            log.warning("not ready: %s", "; ".join(problems))
        return problems


def reachable(dsn: str, connect_timeout: int) -> bool:
    """Whether the server accepts a connection and answers a query now, on a connection of its own."""
    try:
        conn = psycopg2.connect(dsn, connect_timeout=connect_timeout, application_name="appconfig-metrics")
    except psycopg2.Error:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return True
    except psycopg2.Error:
        return False
    finally:
        conn.close()

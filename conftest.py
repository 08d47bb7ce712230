"""Fixtures shared by every test: one throw-away PostgreSQL 16 cluster per run.

The cluster lives in a new temporary directory and listens only on its own Unix
socket, so concurrent test runs never meet, and it is removed at the end. Tests
never read DATABASE_URL or touch the development cluster in .data/.
"""

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

import migrator
from devtools.embedded import EmbeddedPostgres, throwaway_cluster
from migrator import Layout
from settings import PROJECT_ROOT

# Tests that start an API process through these fixtures are left out of `make test-fast`; a
# module that starts a cluster of its own says so with `pytestmark = pytest.mark.own_process`.
OWN_PROCESS_FIXTURES = frozenset({"launch_api", "live_api"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if OWN_PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.own_process)


@pytest.fixture(scope="session")
def cluster() -> Iterator[EmbeddedPostgres]:
    server = throwaway_cluster()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


def drop_database(cluster: EmbeddedPostgres, name: str) -> None:
    conn = psycopg2.connect(cluster.dsn("postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    finally:
        conn.close()


@pytest.fixture
def empty_dsn(cluster: EmbeddedPostgres) -> Iterator[str]:
    """The DSN of a new, empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    cluster.create_database(name, template="template0")
    yield cluster.dsn(name)
    drop_database(cluster, name)


@pytest.fixture(scope="session")
def migrated_template(cluster: EmbeddedPostgres) -> str:
    """The name of a database migrated by the runner, used as the template of per-test databases."""
    name = "migrated_template"
    cluster.create_database(name, template="template0")
    state = migrator.migrate(cluster.dsn(name))
    assert not state.refused
    return name


@pytest.fixture
def fresh_dsn(cluster: EmbeddedPostgres, migrated_template: str) -> Iterator[str]:
    """The DSN of a new migrated database of the test's own, dropped after it: for a test that
    changes more than rows (replaces a function, grants to a role)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    cluster.create_database(name, template=migrated_template)
    yield cluster.dsn(name)
    drop_database(cluster, name)


@pytest.fixture(scope="session")
def _shared_database(cluster: EmbeddedPostgres, migrated_template: str) -> str:
    cluster.create_database("shared", template=migrated_template)
    return cluster.dsn("shared")


@pytest.fixture
def migrated_dsn(_shared_database: str) -> str:
    """The DSN of a migrated database with no applications, configurations or revisions in it.

    One database serves every test, emptied before each (a database per test cost 0.25 s of
    set-up, most of the suite's time); a test that changes its schema takes `fresh_dsn`.
    """
    conn = psycopg2.connect(_shared_database)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            # A test that left a connection in a transaction would hang the next one here.
            cur.execute("SET lock_timeout = '10s'")
            # The deletions the TRUNCATE records go with the revisions table, truncated after them.
            cur.execute("TRUNCATE configurations, applications, revisions")
            cur.execute("UPDATE app_private.revision_retention SET scanned_through = 0, pruned_through = 0")
    finally:
        conn.close()
    return _shared_database


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A copy of the project's migrations and functions that a test may edit."""
    layout = Layout(tmp_path / "migrations", tmp_path / "db" / "functions")
    shutil.copytree(PROJECT_ROOT / "migrations", layout.migrations_dir)
    shutil.copytree(PROJECT_ROOT / "db" / "functions", layout.functions_dir)
    return layout


@pytest.fixture
def conn(empty_dsn: str):
    """A connection to a new, empty database, as the migration runner makes it."""
    connection = migrator.connect(empty_dsn)
    yield connection
    connection.close()

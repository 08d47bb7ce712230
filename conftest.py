"""Fixtures shared by every test: one throw-away PostgreSQL 16 cluster per run.

The cluster lives in a new temporary directory and listens only on its own Unix
socket, so concurrent test runs never meet, and it is removed at the end. Tests
never read DATABASE_URL or touch the development cluster in .data/.
"""

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
from psycopg2 import sql

from api.embedded import EmbeddedPostgres, throwaway_cluster


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
    import migrations

    name = "migrated_template"
    cluster.create_database(name, template="template0")
    conn = migrations.connect(cluster.dsn(name))
    try:
        state = migrations.up(conn, say=lambda line: None)
        assert not state.has(migrations.Exit.DATABASE_NEWER, migrations.Exit.MISSING, migrations.Exit.CHECKSUM_DRIFT)
    finally:
        conn.close()
    return name


@pytest.fixture
def migrated_dsn(cluster: EmbeddedPostgres, migrated_template: str) -> Iterator[str]:
    """The DSN of a new database with the schema and every function, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    cluster.create_database(name, template=migrated_template)
    yield cluster.dsn(name)
    drop_database(cluster, name)

"""0002_api_role.sql: the API works as a role that may only EXECUTE the functions."""

import uuid

import psycopg2
import pytest
from fastapi.testclient import TestClient
from psycopg2 import sql

from api.app import create_app
from api.settings import Settings


@pytest.fixture
def api_role_dsn(cluster, migrated_dsn):
    """A login role that is a member of appconfig_api and nothing more, as the README sets it up."""
    role = f"api_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(migrated_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE appconfig_api").format(sql.Identifier(role)))
    yield f"{migrated_dsn} user={role}"
    with admin.cursor() as cur:
        cur.execute(sql.SQL("DROP OWNED BY {}; DROP ROLE {}").format(sql.Identifier(role), sql.Identifier(role)))
    admin.close()


def test_the_api_works_as_the_least_privileged_role(api_role_dsn):
    with TestClient(create_app(Settings(_env_file=None, database_url=api_role_dsn))) as client:
        app = client.post("/api/v1/applications", json={"name": "billing"})
        assert app.status_code == 201
        config = client.post(
            "/api/v1/configurations", json={"application_id": app.json()["id"], "name": "p", "config": {"a": 1}}
        )
        assert config.status_code == 201
        assert client.put(f"/api/v1/applications/{app.json()['id']}", json={"name": "b"}).status_code == 200
        assert client.get(f"/api/v1/configurations/{config.json()['id']}").json()["config"] == {"a": 1}
        assert [a["name"] for a in client.get("/api/v1/applications").json()] == ["b"]
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM applications",
        "SELECT * FROM configurations",
        "INSERT INTO applications (id, name) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', 'x')",
        "UPDATE configurations SET config = '{}'",
        "DELETE FROM applications",
        "DELETE FROM migrations",
    ],
)
def test_the_role_cannot_touch_the_tables_directly(api_role_dsn, statement):
    conn = psycopg2.connect(api_role_dsn)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(statement)
    finally:
        conn.close()


def test_other_roles_cannot_call_the_functions(cluster, migrated_dsn):
    role = f"other_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(migrated_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        conn = psycopg2.connect(f"{migrated_dsn} user={role}")
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute("SELECT app_create('sneaky')")
        conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
        admin.close()

"""0002_api_role.sql: the API works as a role that may only EXECUTE the functions."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from fastapi.testclient import TestClient
from psycopg2 import sql

from api.app import create_app
from settings import Settings


@contextmanager
def login_role(dsn: str, *, member_of_api_role: bool) -> Iterator[str]:
    """A new login role, dropped afterwards; the DSN to connect as it."""
    role = f"role_{uuid.uuid4().hex[:8]}"
    grant = " IN ROLE appconfig_api" if member_of_api_role else ""
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE ROLE {} LOGIN" + grant).format(sql.Identifier(role)))
        yield f"{dsn} user={role}"
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(role)))
    finally:
        admin.close()


@pytest.fixture
def api_role_dsn(migrated_dsn):
    """A login role that is a member of appconfig_api and nothing more, as the README sets it up."""
    with login_role(migrated_dsn, member_of_api_role=True) as dsn:
        yield dsn


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
        # nor rewrite history: revisions are written by the triggers alone
        "SELECT * FROM revisions",
        "UPDATE revisions SET state = NULL",
        "DELETE FROM revisions",
        "SELECT nextval('revision_numbers')",
        "SELECT app_private.revision_record('application', 'deleted', 'x', 'x')",
        # nor call the helpers: they are the functions' plumbing, in a schema of their own
        "SELECT app_private.field_check('name', 'x', 256, true)",
        "SELECT app_private.ulid_generate()",
        "SELECT app_private.ulid_normalize('01ARZ3NDEKTSV4RRFFQ69G5FAV')",
        "SELECT app_private.config_check('{}')",
    ],
)
def test_the_role_cannot_touch_the_tables_directly_or_call_the_helpers(api_role_dsn, statement):
    conn = psycopg2.connect(api_role_dsn)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
            cur.execute(statement)
    finally:
        conn.close()


def test_other_roles_cannot_call_the_functions(migrated_dsn):
    with login_role(migrated_dsn, member_of_api_role=False) as dsn:
        conn = psycopg2.connect(dsn)
        try:
            with conn.cursor() as cur, pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("SELECT app_create('sneaky')")
        finally:
            conn.close()


def test_public_holds_exactly_the_interface(migrated_dsn):
    conn = psycopg2.connect(migrated_dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1")
            public = [name for (name,) in cur.fetchall()]
    finally:
        conn.close()

    assert public == [
        "app_create",
        "app_delete",
        "app_diff",
        "app_get",
        "app_get_by_name",
        "app_list",
        "app_list_page",
        "app_revert",
        "app_revision",
        "app_revisions",
        "app_update",
        "change_list",
        "config_create",
        "config_delete",
        "config_diff",
        "config_get",
        "config_get_by_name",
        "config_get_by_name_if_modified",
        "config_get_if_modified",
        "config_list",
        "config_list_page",
        "config_revert",
        "config_revision",
        "config_revisions",
        "config_update",
        "revision_latest",
        "revisions_prune",
    ]

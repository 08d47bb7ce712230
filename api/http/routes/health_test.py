import psycopg2
from fastapi.testclient import TestClient

from api.app import create_app


def test_liveness_is_constant(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_the_database_answers_and_the_schema_is_in_order(client):
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready"}


def test_not_ready_when_the_database_cannot_be_reached(settings, tmp_path, problem):
    unreachable = settings.model_copy(update={"database_url": f"host={tmp_path} port=1 dbname=none"})
    with TestClient(create_app(unreachable)) as client:
        body = problem(client.get("/readyz"), 503)
        assert client.get("/healthz").status_code == 200

    assert "cannot be reached" in body["detail"]


def test_not_ready_when_a_function_was_changed_by_hand(settings, fresh_dsn, problem):
    conn = psycopg2.connect(fresh_dsn)
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE OR REPLACE FUNCTION app_private.ulid_generate() RETURNS text LANGUAGE sql AS $$ SELECT 'x' $$"
        )
    conn.close()

    with TestClient(create_app(settings.model_copy(update={"database_url": fresh_dsn}))) as client:
        body = problem(client.get("/readyz"), 503)

    assert "ulid_generate" in body["detail"]


def test_the_result_is_cached_briefly(settings, fresh_dsn):
    with TestClient(create_app(settings.model_copy(update={"database_url": fresh_dsn}))) as client:
        assert client.get("/readyz").status_code == 200
        conn = psycopg2.connect(fresh_dsn)
        with conn, conn.cursor() as cur:
            cur.execute("DROP FUNCTION app_private.ulid_generate()")
        conn.close()

        assert client.get("/readyz").status_code == 200  # within the cache window
        client.app.state.readiness._checked_at = -float("inf")
        assert client.get("/readyz").status_code == 503

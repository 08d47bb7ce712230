from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings


def test_liveness_answers_without_a_database():
    app = create_app(Settings(_env_file=None, database_url="host=/nonexistent dbname=none"))
    with TestClient(app) as client:
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

from psycopg2.extras import Json
from ulid import ULID


def test_returns_the_configuration(call):
    app = call("app_create", "billing")
    created = call("config_create", app["id"], "production", Json({"nested": {"list": [1, 2.5, None]}}))

    assert call("config_get", created["id"].lower()) == created


def test_missing_is_P0002(sqlstate):
    assert sqlstate("config_get", str(ULID())) == "P0002"


def test_malformed_id_is_22P02(sqlstate):
    assert sqlstate("config_get", "x") == "22P02"

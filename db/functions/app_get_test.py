from psycopg2.extras import Json
from ulid import ULID


def test_returns_the_application_with_configuration_ids_in_creation_order(call):
    app = call("app_create", "billing", "notes")
    first = call("config_create", app["id"], "zeta", Json({}))["id"]
    second = call("config_create", app["id"], "alpha", Json({}))["id"]

    assert call("app_get", app["id"].lower()) == {
        "id": app["id"],
        "name": "billing",
        "comments": "notes",
        "configuration_ids": [first, second],
    }


def test_missing_is_P0002(sqlstate):
    assert sqlstate("app_get", str(ULID())) == "P0002"


def test_malformed_id_is_22P02(sqlstate):
    assert sqlstate("app_get", "nope") == "22P02"

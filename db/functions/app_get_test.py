from psycopg2.extras import Json
from ulid import ULID


def test_returns_the_application_with_configuration_ids_in_id_order(call):
    # Ids sort by creation time (and the API's strictly increase), so id order is creation order.
    app = call("app_create", "billing", "notes")
    call("config_create", app["id"], "zeta", Json({}), None, "01ARZ3NDEKTSV4RRFFQ69G5FAZ")
    call("config_create", app["id"], "alpha", Json({}), None, "01arz3ndektsv4rrffq69g5fay")

    assert call("app_get", app["id"].lower()) == {
        "id": app["id"],
        "name": "billing",
        "comments": "notes",
        "configuration_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAY", "01ARZ3NDEKTSV4RRFFQ69G5FAZ"],
    }


def test_missing_is_P0002(sqlstate):
    assert sqlstate("app_get", str(ULID())) == "P0002"


def test_malformed_id_is_22P02(sqlstate):
    assert sqlstate("app_get", "nope") == "22P02"

from psycopg2.extras import Json
from ulid import ULID


def test_creates_a_configuration_of_an_application(call, rows):
    app = call("app_create", "billing")

    created = call("config_create", app["id"].lower(), "production", Json({"replicas": 3}), "prod settings")

    assert created == {
        "id": created["id"],
        "application_id": app["id"],
        "name": "production",
        "comments": "prod settings",
        "config": {"replicas": 3},
    }
    assert rows("SELECT application_id, name, config FROM configurations") == [
        (app["id"], "production", {"replicas": 3})
    ]


def test_same_name_in_another_application_is_fine(call):
    first, second = call("app_create", "a"), call("app_create", "b")
    call("config_create", first["id"], "production", Json({}))

    assert call("config_create", second["id"], "production", Json({}))["name"] == "production"


def test_unknown_application_is_23503(sqlstate, rows):
    assert sqlstate("config_create", str(ULID()), "production", Json({})) == "23503"
    assert rows("SELECT count(*) FROM configurations") == [(0,)]


def test_duplicate_name_within_an_application_is_23505(call, sqlstate, rows):
    app = call("app_create", "billing")
    call("config_create", app["id"], "production", Json({}))

    assert sqlstate("config_create", app["id"], "production", Json({"other": 1})) == "23505"
    assert rows("SELECT count(*) FROM configurations") == [(1,)]


def test_bad_input_is_a_data_exception(call, sqlstate):
    app = call("app_create", "billing")

    assert sqlstate("config_create", app["id"], "p", Json([1])) == "22023"
    assert sqlstate("config_create", app["id"], "p", None) == "22004"
    assert sqlstate("config_create", app["id"], "x" * 257, Json({})) == "22001"
    assert sqlstate("config_create", app["id"], "p", Json({}), "x" * 1025) == "22001"
    assert sqlstate("config_create", "nope", "p", Json({})) == "22P02"
    assert sqlstate("config_create", app["id"], "p", '{"bad": "\\u0000"}') == "22P05"

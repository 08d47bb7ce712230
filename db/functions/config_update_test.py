import pytest
from psycopg2.extras import Json
from ulid import ULID


@pytest.fixture
def config(call) -> dict:
    app = call("app_create", "billing")
    return call("config_create", app["id"], "production", Json({"replicas": 3}), "notes")


def test_replaces_name_comments_and_config(call, config, rows):
    updated = call("config_update", config["id"].lower(), "prod", Json({"replicas": 5}))

    assert updated == {**config, "name": "prod", "comments": None, "config": {"replicas": 5}}
    assert rows("SELECT name, comments, config FROM configurations") == [("prod", None, {"replicas": 5})]


def test_the_current_application_id_may_be_confirmed_in_any_case(call, config):
    updated = call("config_update", config["id"], "prod", Json({}), None, config["application_id"].lower())

    assert updated["application_id"] == config["application_id"]


def test_another_application_id_is_22023_and_changes_nothing(call, config, sqlstate, rows):
    other = call("app_create", "other")

    assert sqlstate("config_update", config["id"], "prod", Json({}), None, other["id"]) == "22023"
    assert rows("SELECT application_id, name FROM configurations") == [(config["application_id"], "production")]


def test_taking_a_sibling_name_is_23505(call, config, sqlstate):
    sibling = call("config_create", config["application_id"], "staging", Json({}))

    assert sqlstate("config_update", sibling["id"], "production", Json({})) == "23505"


def test_missing_is_P0002(sqlstate):
    assert sqlstate("config_update", str(ULID()), "prod", Json({})) == "P0002"


def test_bad_input_is_a_data_exception(config, sqlstate):
    assert sqlstate("config_update", config["id"], "prod", Json("text")) == "22023"
    assert sqlstate("config_update", config["id"], "", Json({})) == "22023"
    assert sqlstate("config_update", "bad", "prod", Json({})) == "22P02"


def test_p_if_match_is_compare_and_set(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "p", Json({"v": 1}))
    etag = rows("SELECT app_private.etag(config_get(%s))", (configuration["id"],))[0][0]

    assert sqlstate("config_update", configuration["id"], "p", Json({"v": 2}), None, None, '"0000"') == "PT412"
    assert call("config_update", configuration["id"], "p", Json({"v": 2}), None, None, etag)["config"] == {"v": 2}
    assert sqlstate("config_update", configuration["id"], "p", Json({"v": 3}), None, None, etag) == "PT412"
    assert rows("SELECT config FROM configurations") == [({"v": 2},)]

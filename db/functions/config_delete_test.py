from psycopg2.extras import Json
from ulid import ULID


def test_deletes_the_configuration_and_its_application_no_longer_lists_it(call, rows):
    app = call("app_create", "billing")
    kept = call("config_create", app["id"], "staging", Json({}))
    gone = call("config_create", app["id"], "production", Json({}))

    call("config_delete", gone["id"])

    assert call("app_get", app["id"])["configuration_ids"] == [kept["id"]]
    assert rows("SELECT count(*) FROM configurations") == [(1,)]


def test_missing_is_P0002_and_a_stale_etag_PT412(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))

    assert sqlstate("config_delete", str(ULID())) == "P0002"
    assert sqlstate("config_delete", configuration["id"], 'W/"x", "y"') == "PT412"
    assert rows("SELECT count(*) FROM configurations") == [(1,)]
    call("config_delete", configuration["id"], "*")
    assert rows("SELECT count(*) FROM configurations") == [(0,)]

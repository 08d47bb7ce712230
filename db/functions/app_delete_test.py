from psycopg2.extras import Json
from ulid import ULID


def test_deletes_an_application_without_configurations(call, rows):
    app = call("app_create", "billing")

    call("app_delete", app["id"].lower())

    assert rows("SELECT count(*) FROM applications") == [(0,)]


def test_one_with_configurations_is_2BP01_and_stays(call, sqlstate, rows):
    app = call("app_create", "billing")
    call("config_create", app["id"], "production", Json({}))

    assert sqlstate("app_delete", app["id"]) == "2BP01"
    assert rows("SELECT count(*) FROM applications") == [(1,)]


def test_missing_is_P0002_and_a_stale_etag_PT412(call, sqlstate, rows):
    app = call("app_create", "billing")

    assert sqlstate("app_delete", str(ULID())) == "P0002"
    assert sqlstate("app_delete", app["id"], '"0000"') == "PT412"
    assert rows("SELECT count(*) FROM applications") == [(1,)]
    etag = rows("SELECT app_private.etag(app_get(%s))", (app["id"],))[0][0]
    call("app_delete", app["id"], etag)
    assert rows("SELECT count(*) FROM applications") == [(0,)]

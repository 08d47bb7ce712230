from ulid import ULID


def test_replaces_name_and_comments_and_returns_as_get(call, rows):
    app = call("app_create", "billing", "old notes")

    updated = call("app_update", app["id"].lower(), "invoicing")

    assert updated == {"id": app["id"], "name": "invoicing", "comments": None, "configuration_ids": []}
    assert rows("SELECT name, comments FROM applications") == [("invoicing", None)]


def test_keeping_its_own_name_is_fine(call):
    app = call("app_create", "billing")

    assert call("app_update", app["id"], "billing", "new")["comments"] == "new"


def test_taking_another_applications_name_is_23505_and_changes_nothing(call, sqlstate, rows):
    call("app_create", "billing")
    other = call("app_create", "shipping")

    assert sqlstate("app_update", other["id"], "billing") == "23505"
    assert rows("SELECT name FROM applications ORDER BY name") == [("billing",), ("shipping",)]


def test_missing_is_P0002(sqlstate):
    assert sqlstate("app_update", str(ULID()), "name") == "P0002"


def test_bad_fields_are_data_exceptions(call, sqlstate):
    app = call("app_create", "billing")

    assert sqlstate("app_update", app["id"], "") == "22023"
    assert sqlstate("app_update", app["id"], "x" * 257) == "22001"
    assert sqlstate("app_update", "nope", "name") == "22P02"


def test_p_if_match_is_compare_and_set(call, sqlstate, rows):
    app = call("app_create", "billing")
    etag = rows("SELECT app_private.etag(app_get(%s))", (app["id"],))[0][0]

    assert sqlstate("app_update", app["id"], "stale", None, '"0000"') == "PT412"
    assert call("app_update", app["id"], "renamed", None, etag)["name"] == "renamed"
    assert sqlstate("app_update", app["id"], "again", None, etag) == "PT412"  # that tag is spent
    assert rows("SELECT name FROM applications") == [("renamed",)]

"""config_revert and app_revert: an older revision made current again, as a new revision through the
ordinary write functions (their checks, locks and errors), and undelete with the same id."""

from psycopg2.extras import Json
from ulid import ULID

from api.etags import etag


def text_of(rows, function: str, resource_id: str) -> str:
    return rows(f"SELECT {function}(%s)::text", (resource_id,))[0][0]


def revisions(call, function: str, resource_id: str) -> list[dict]:
    """The history, oldest first."""
    return list(reversed(call(function, resource_id)))


def test_reverting_a_configuration_makes_a_new_revision_with_the_old_ones_etag(call, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}), "first")
    call("config_update", configuration["id"], "live", Json({"replicas": 4, "zone": "b"}))
    first, second = revisions(call, "config_revisions", configuration["id"])

    reverted = call("config_revert", configuration["id"].lower(), first["revision"])

    assert reverted == configuration == call("config_get", configuration["id"])
    history = revisions(call, "config_revisions", configuration["id"])
    assert [r["action"] for r in history] == ["created", "updated", "updated"]
    assert history[:2] == [first, second] and history[2]["revision"] > second["revision"]
    assert history[2]["etag"] == first["etag"] == etag(text_of(rows, "config_get", configuration["id"]))
    assert rows("SELECT name, comments, config FROM configurations") == [("production", "first", {"replicas": 3})]


def test_reverting_an_application_makes_a_new_revision_with_the_old_ones_etag(call, rows):
    app = call("app_create", "billing", "first")
    call("app_update", app["id"], "invoicing")
    first, _ = revisions(call, "app_revisions", app["id"])

    assert call("app_revert", app["id"], first["revision"]) == app == call("app_get", app["id"])
    history = revisions(call, "app_revisions", app["id"])
    assert [r["action"] for r in history] == ["created", "updated", "updated"]
    assert history[2]["etag"] == first["etag"] == etag(text_of(rows, "app_get", app["id"]))
    assert rows("SELECT name, comments FROM applications") == [("billing", "first")]


def test_a_stale_if_match_is_PT412_and_changes_nothing(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    stale = etag(text_of(rows, "config_get", configuration["id"]))
    app_stale = etag(text_of(rows, "app_get", app["id"]))
    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    call("app_update", app["id"], "invoicing")
    config_first = revisions(call, "config_revisions", configuration["id"])[0]["revision"]
    app_first = revisions(call, "app_revisions", app["id"])[0]["revision"]
    latest = rows("SELECT revision_latest()")

    assert sqlstate("config_revert", configuration["id"], config_first, stale) == "PT412"
    assert sqlstate("app_revert", app["id"], app_first, app_stale) == "PT412"
    assert sqlstate("config_revert", configuration["id"], config_first, None, "*") == "PT412"  # If-None-Match: *

    assert rows("SELECT revision_latest()") == latest
    assert rows("SELECT config FROM configurations") == [({"replicas": 4},)]
    assert rows("SELECT name FROM applications") == [("invoicing",)]
    current = etag(text_of(rows, "config_get", configuration["id"]))
    assert call("config_revert", configuration["id"], config_first, current)["config"] == {"replicas": 3}


def test_reverting_a_deleted_configuration_recreates_it_with_the_same_id(call, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}), "notes")
    call("config_update", configuration["id"], "production", Json({"replicas": 4}), "notes")
    call("config_delete", configuration["id"])
    first = revisions(call, "config_revisions", configuration["id"])[0]

    assert call("config_revert", configuration["id"], first["revision"]) == configuration
    assert call("config_get", configuration["id"]) == configuration
    assert call("app_get", app["id"])["configuration_ids"] == [configuration["id"]]
    history = call("config_revisions", configuration["id"])
    assert [r["action"] for r in history] == ["created", "deleted", "updated", "created"]
    assert history[0]["etag"] == first["etag"]
    assert rows("SELECT application_etag FROM revisions WHERE revision = %s", (history[0]["revision"],)) == [
        (etag(text_of(rows, "app_get", app["id"])),)
    ]


def test_reverting_a_deleted_application_recreates_it_with_the_same_id(call):
    app = call("app_create", "billing", "notes")
    call("app_delete", app["id"])
    created = revisions(call, "app_revisions", app["id"])[0]

    assert call("app_revert", app["id"], created["revision"]) == app == call("app_get", app["id"])
    history = call("app_revisions", app["id"])
    assert [r["action"] for r in history] == ["created", "deleted", "created"]
    assert history[0]["etag"] == created["etag"]


def test_undeleting_with_if_match_is_PT412_and_recreates_nothing(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    config_tag = etag(text_of(rows, "config_get", configuration["id"]))
    call("config_delete", configuration["id"])
    app_tag = etag(text_of(rows, "app_get", app["id"]))
    call("app_delete", app["id"])
    app_created = revisions(call, "app_revisions", app["id"])[0]["revision"]
    config_created = revisions(call, "config_revisions", configuration["id"])[0]["revision"]

    assert sqlstate("app_revert", app["id"], app_created, app_tag) == "PT412"
    assert sqlstate("app_revert", app["id"], app_created, "*") == "PT412"
    call("app_revert", app["id"], app_created)
    assert sqlstate("config_revert", configuration["id"], config_created, config_tag) == "PT412"
    assert sqlstate("config_revert", configuration["id"], config_created, "*") == "PT412"

    assert rows("SELECT count(*) FROM configurations") == [(0,)]
    assert [r["action"] for r in call("config_revisions", configuration["id"])] == ["deleted", "created"]
    # If-None-Match: * asks that it not exist, which a deleted one does not: it is recreated.
    assert call("config_revert", configuration["id"], config_created, None, "*")["id"] == configuration["id"]


def test_undeleting_when_the_name_is_taken_meanwhile_is_23505(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"mine": True}))
    call("config_delete", configuration["id"])
    call("config_create", app["id"], "production", Json({"theirs": True}))
    config_created = revisions(call, "config_revisions", configuration["id"])[0]["revision"]
    other = call("app_create", "payroll")
    call("app_delete", other["id"])
    call("app_update", app["id"], "payroll")
    other_created = revisions(call, "app_revisions", other["id"])[0]["revision"]

    assert sqlstate("config_revert", configuration["id"], config_created) == "23505"
    assert sqlstate("app_revert", other["id"], other_created) == "23505"
    assert rows("SELECT config FROM configurations") == [({"theirs": True},)]
    assert rows("SELECT id FROM applications") == [(app["id"],)]


def test_reverting_to_a_name_taken_meanwhile_is_23505(call, sqlstate, rows):
    app = call("app_create", "billing")
    call("app_update", app["id"], "invoicing")
    call("app_create", "billing")
    first = revisions(call, "app_revisions", app["id"])[0]["revision"]

    assert sqlstate("app_revert", app["id"], first) == "23505"
    assert rows("SELECT name FROM applications ORDER BY name") == [("billing",), ("invoicing",)]


def test_undeleting_a_configuration_whose_application_is_gone_is_23503(call, sqlstate, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    call("config_delete", configuration["id"])
    call("app_delete", app["id"])
    created = revisions(call, "config_revisions", configuration["id"])[0]["revision"]
    latest = rows("SELECT revision_latest()")

    assert sqlstate("config_revert", configuration["id"], created) == "23503"
    assert rows("SELECT count(*) FROM configurations") == [(0,)]
    assert rows("SELECT revision_latest()") == latest


def test_a_deletion_is_no_revision_to_revert_to_22023(call, sqlstate):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    call("config_delete", configuration["id"])
    call("app_delete", app["id"])

    assert (
        sqlstate("config_revert", configuration["id"], call("config_revisions", configuration["id"])[0]["revision"])
        == "22023"
    )
    assert sqlstate("app_revert", app["id"], call("app_revisions", app["id"])[0]["revision"]) == "22023"


def test_an_unknown_revision_is_P0002_and_a_bad_id_22P02(call, sqlstate):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    app_revision = call("app_revisions", app["id"])[0]["revision"]
    config_revision = call("config_revisions", configuration["id"])[0]["revision"]

    assert sqlstate("config_revert", configuration["id"], config_revision + 10**6) == "P0002"
    assert sqlstate("config_revert", configuration["id"], app_revision) == "P0002"  # another resource's
    assert sqlstate("app_revert", app["id"], config_revision) == "P0002"
    assert sqlstate("app_revert", str(ULID()), app_revision) == "P0002"
    assert sqlstate("config_revert", configuration["id"], None) == "22004"
    assert sqlstate("app_revert", "nope", app_revision) == "22P02"

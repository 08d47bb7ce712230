"""app_revisions/config_revisions and app_revision/config_revision: a resource's history, and each
revision's state as its *_get returned it (what the triggers record: recording_test.py).

Each test starts with no revision (conftest's migrated_dsn), but the numbers go on from the last test's:
they look at their own resources' revisions, or at those after revision_latest() as it was when they began."""

import json
import re
from datetime import UTC, datetime, timedelta

from psycopg2.extras import Json
from ulid import ULID

from api.etags import etag

AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def text_of(rows, function: str, resource_id: str) -> str:
    """What the *_get function returns, as the text the API sends (and hashes into the ETag)."""
    return rows(f"SELECT {function}(%s)::text", (resource_id,))[0][0]


def test_a_history_lists_every_change_newest_first_with_its_number_time_role_and_etag(call, rows):
    me = rows("SELECT session_user")[0][0]
    before = datetime.now(UTC)
    app = call("app_create", "billing")
    app_tags = [etag(text_of(rows, "app_get", app["id"]))]
    call("app_update", app["id"], "invoicing", "moved")
    app_tags.append(etag(text_of(rows, "app_get", app["id"])))
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    config_tags = [etag(text_of(rows, "config_get", configuration["id"]))]
    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    config_tags.append(etag(text_of(rows, "config_get", configuration["id"])))
    call("config_delete", configuration["id"])

    history = call("app_revisions", app["id"].lower())
    config_history = call("config_revisions", configuration["id"])

    assert [(r["action"], r["etag"]) for r in history] == [("updated", app_tags[1]), ("created", app_tags[0])]
    assert [(r["action"], r.get("etag")) for r in config_history] == [
        ("deleted", None),
        ("updated", config_tags[1]),
        ("created", config_tags[0]),
    ]
    for entry in history + config_history:
        assert set(entry) == {"revision", "action", "at", "by", "etag"} - (
            {"etag"} if entry["action"] == "deleted" else set()
        )
        assert entry["by"] == me
        assert AT.match(entry["at"]), entry["at"]
        assert before - timedelta(seconds=1) <= datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)
    assert history[0]["revision"] > history[1]["revision"]
    assert config_history[0]["revision"] > config_history[1]["revision"] > config_history[2]["revision"]
    assert history[0]["revision"] < config_history[2]["revision"]  # numbered across both, in commit order
    assert rows("SELECT revision, action FROM revisions WHERE id = %s ORDER BY revision DESC", (app["id"],)) == [
        (r["revision"], r["action"]) for r in history
    ]


def test_a_history_pages_with_before_and_limit(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"n": 0}))
    for n in range(1, 5):
        call("config_update", configuration["id"], "production", Json({"n": n}))
    for n in range(1, 5):
        call("app_update", app["id"], f"billing-{n}")

    for function, resource_id in (("config_revisions", configuration["id"]), ("app_revisions", app["id"])):
        everything = call(function, resource_id)
        first = call(function, resource_id, None, 2)
        second = call(function, resource_id, first[-1]["revision"], 2)
        third = call(function, resource_id, second[-1]["revision"], 2)

        assert len(everything) == 5
        assert (first, second, third) == (everything[:2], everything[2:4], everything[4:])
        assert call(function, resource_id, everything[-1]["revision"]) == []  # nothing before the first
        assert call(function, resource_id, everything[0]["revision"] + 10**6, 1) == everything[:1]


def test_a_history_is_read_after_the_deletion_too(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    call("config_delete", configuration["id"])
    call("app_delete", app["id"])

    assert [r["action"] for r in call("config_revisions", configuration["id"])] == ["deleted", "created"]
    assert [r["action"] for r in call("app_revisions", app["id"])] == ["deleted", "created"]


def test_no_history_is_P0002_a_limit_below_one_22023_and_a_bad_id_22P02(call, sqlstate):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))

    for function, resource_id, other in (
        ("app_revisions", app["id"], configuration["id"]),
        ("config_revisions", configuration["id"], app["id"]),
    ):
        assert sqlstate(function, str(ULID())) == "P0002"
        assert sqlstate(function, other) == "P0002"  # the other kind's id is not one of its own
        assert sqlstate(function, resource_id, None, 0) == "22023"
        assert sqlstate(function, "nope") == "22P02"
    for function, resource_id in (("app_revision", app["id"]), ("config_revision", configuration["id"])):
        [mine] = call(function.replace("revision", "revisions"), resource_id)
        assert sqlstate(function, resource_id, mine["revision"] + 10**6) == "P0002"
        assert sqlstate(function, str(ULID()), mine["revision"]) == "P0002"
        assert sqlstate(function, resource_id, None) == "22004"
        assert sqlstate(function, "nope", mine["revision"]) == "22P02"


def test_a_revision_holds_the_resource_as_its_get_returned_it_and_that_texts_etag(call, rows):
    """app_private.application_state and configuration_state build the documents as app_get and config_get do:
    equal ETags need equal text, key order and number forms included."""
    app = call("app_create", "billing", "ünïcode ✓")
    seen = {app["id"]: [text_of(rows, "app_get", app["id"])]}
    configuration = call(
        "config_create", app["id"], "production", Json({"b": [1, 2.50, {"z": None}], "a": "x"}), "notes"
    )
    seen[configuration["id"]] = [text_of(rows, "config_get", configuration["id"])]
    rows("UPDATE configurations SET config = '{\"n\": 1.10, \"big\": 1e30, \"t\": true}' WHERE id = %s RETURNING 1",
         (configuration["id"],))  # fmt: skip
    seen[configuration["id"]].append(text_of(rows, "config_get", configuration["id"]))
    call("app_update", app["id"], "invoicing")  # now with a configuration id
    seen[app["id"]].append(text_of(rows, "app_get", app["id"]))

    for function, resource_id in (("app_revision", app["id"]), ("config_revision", configuration["id"])):
        history = list(reversed(call(function.replace("revision", "revisions"), resource_id)))
        assert len(history) == len(seen[resource_id])
        for entry, text in zip(history, seen[resource_id], strict=True):
            revision = call(function, resource_id.lower(), entry["revision"])
            assert revision == {**entry, "state": json.loads(text)}
            assert revision["etag"] == etag(text)
            assert rows("SELECT state::text FROM revisions WHERE revision = %s", (entry["revision"],)) == [(text,)]


def test_a_revision_after_a_deletion_has_no_state_nor_etag(call):
    app = call("app_create", "billing")
    call("app_delete", app["id"])
    deleted = call("app_revisions", app["id"])[0]

    assert call("app_revision", app["id"], deleted["revision"]) == {**deleted, "state": None}
    assert "etag" not in deleted


def test_a_configurations_creation_and_deletion_carry_its_applications_new_etag(call, rows):
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    tags = [etag(text_of(rows, "app_get", app["id"]))]
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    tags.append(etag(text_of(rows, "app_get", app["id"])))
    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    call("config_create", other["id"], "production", Json({}))  # another application's: not this one's tag
    call("config_delete", configuration["id"])
    tags.append(etag(text_of(rows, "app_get", app["id"])))

    assert len(set(tags)) == 2 and tags[0] == tags[2]  # back to no configuration
    assert tags[0] != tags[1]
    assert rows(
        "SELECT action, application_etag FROM revisions WHERE id = %s ORDER BY revision", (configuration["id"],)
    ) == [("created", tags[1]), ("updated", None), ("deleted", tags[2])]
    # an application's own revisions carry no application_etag: their etag is it
    assert rows("SELECT application_etag FROM revisions WHERE id = %s", (app["id"],)) == [(None,)]

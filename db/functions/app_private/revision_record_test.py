"""Every write is recorded as a revision and sends one notification on appconfig_changes, carrying
its revision number, delivered at commit only."""

import json
import select
import time

import psycopg2
import pytest
from psycopg2.extras import Json

from api.etags import etag

CHANNEL = "appconfig_changes"


@pytest.fixture
def heard(migrated_dsn: str):
    """`heard(n)`: the payloads delivered since the last call, decoded, once `n` have come (or a few
    seconds have passed); `heard()` looks for a moment, to see that none came."""
    revisions: list[int] = []  # what the payloads carried, in the order they came
    listener = psycopg2.connect(migrated_dsn)
    listener.autocommit = True
    with listener.cursor() as cur:
        cur.execute(f"LISTEN {CHANNEL}")

    def heard(expected: int = 0) -> list[dict]:
        deadline = time.monotonic() + (5 if expected else 0.2)
        while len(listener.notifies) < max(expected, 1) and time.monotonic() < deadline:
            select.select([listener], [], [], deadline - time.monotonic())
            listener.poll()
        payloads = [json.loads(n.payload) for n in listener.notifies if n.channel == CHANNEL]
        listener.notifies.clear()
        revisions.extend(payload.pop("revision") for payload in payloads)
        return payloads

    heard.revisions = revisions
    yield heard
    listener.close()


def text_of(call, function: str, *args) -> str:
    """The function's JSON text as the API sends it (call() decodes it)."""
    return json.dumps(call(function, *args), ensure_ascii=False)


def test_each_write_sends_what_changed_with_its_new_etag(db, call, heard):
    app = call("app_create", "billing")
    assert heard(1) == [
        {"entity": "application", "action": "created", "id": app["id"], "application_id": app["id"],
         "etag": etag(text_of(call, "app_get", app["id"]))}
    ]  # fmt: skip

    app = call("app_update", app["id"], "billing-eu", "moved")
    [event] = heard(1)
    assert event["action"] == "updated" and event["etag"] == etag(text_of(call, "app_get", app["id"]))

    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    assert heard(1) == [
        {"entity": "configuration", "action": "created", "id": configuration["id"], "application_id": app["id"],
         "etag": etag(text_of(call, "config_get", configuration["id"])),
         "application_etag": etag(text_of(call, "app_get", app["id"]))}
    ]  # fmt: skip

    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    [event] = heard(1)
    assert event["entity"] == "configuration" and event["action"] == "updated"
    assert event["etag"] == etag(text_of(call, "config_get", configuration["id"]))
    assert "application_etag" not in event  # the application's configuration_ids did not change

    call("config_delete", configuration["id"])
    assert heard(1) == [
        {"entity": "configuration", "action": "deleted", "id": configuration["id"], "application_id": app["id"],
         "application_etag": etag(text_of(call, "app_get", app["id"]))}
    ]  # fmt: skip

    call("app_delete", app["id"])
    assert heard(1) == [{"entity": "application", "action": "deleted", "id": app["id"], "application_id": app["id"]}]

    # Each carried its revision, the one the history records.
    assert heard.revisions == sorted(set(heard.revisions)) and len(heard.revisions) == 6
    assert [r["revision"] for r in reversed(call("config_revisions", configuration["id"]))] == heard.revisions[2:5]


def test_nothing_is_sent_before_commit_nor_for_a_rollback_or_a_refused_write(db, call, sqlstate, heard):
    app = call("app_create", "billing")
    heard(1)
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute("SELECT app_update(%s, 'renamed')", (app["id"],))
        assert heard() == []  # not before the commit
        db.rollback()
    assert heard() == []
    with db.cursor() as cur:
        cur.execute("SELECT app_update(%s, 'renamed')", (app["id"],))
        db.commit()
    assert [event["action"] for event in heard(1)] == ["updated"]
    db.autocommit = True

    assert sqlstate("app_create", "renamed") == "23505"
    assert sqlstate("app_update", app["id"], "other", None, '"stale"') == "PT412"
    assert heard() == []

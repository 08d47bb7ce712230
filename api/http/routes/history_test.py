"""History over HTTP: revisions, one revision's state, diff and revert, for both resources."""

import pytest

from testing.live_api import psql

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"


@pytest.fixture
def app_id(client) -> str:
    return client.post(APPS, json={"name": "billing"}).json()["id"]


@pytest.fixture
def versions(client, app_id, migrated_dsn) -> tuple[str, list[dict]]:
    """A configuration written four times (the last in psql): its id, and what GET returned after each
    write, with its ETag."""
    created = client.post(CONFIGS, json={"application_id": app_id, "name": "production", "config": {"replicas": 3}})
    config_id = created.json()["id"]
    client.put(f"{CONFIGS}/{config_id}", json={"name": "production", "config": {"replicas": 4, "zone": "a"}})
    client.put(f"{CONFIGS}/{config_id}", json={"name": "production", "config": {"replicas": 5}, "comments": "x"})
    psql(migrated_dsn, "UPDATE configurations SET config = '{\"replicas\": 6}' WHERE id = %s", config_id)
    return config_id, _states(client, config_id)


def _states(client, config_id: str) -> list[dict]:
    history = client.get(f"{CONFIGS}/{config_id}/revisions").json()
    return [client.get(f"{CONFIGS}/{config_id}/revisions/{r['revision']}").json() for r in reversed(history)]


def test_a_history_lists_every_write_newest_first_and_pages_with_a_link(client, versions):
    config_id, _ = versions
    history = client.get(f"{CONFIGS}/{config_id}/revisions")

    assert history.status_code == 200
    listed = history.json()
    assert [r["action"] for r in listed] == ["updated", "updated", "updated", "created"]
    revisions = [r["revision"] for r in listed]
    assert revisions == sorted(revisions, reverse=True)
    assert set(listed[0]) == {"revision", "action", "at", "by", "etag"}
    assert listed[0]["by"] == "postgres" and listed[0]["at"].endswith("Z")
    assert "Link" not in history.headers

    first = client.get(f"{CONFIGS}/{config_id}/revisions", params={"limit": 3})
    assert [r["revision"] for r in first.json()] == revisions[:3]
    link = first.headers["Link"]
    assert link == f'<{CONFIGS}/{config_id}/revisions?limit=3&before={revisions[2]}>; rel="next"'
    rest = client.get(link[1 : link.index(">")])
    assert [r["revision"] for r in rest.json()] == revisions[3:] and "Link" not in rest.headers


def test_a_revision_is_the_resource_as_get_returned_it_then_with_its_etag(client, versions, migrated_dsn):
    config_id, _ = versions
    now = client.get(f"{CONFIGS}/{config_id}")
    newest = client.get(f"{CONFIGS}/{config_id}/revisions").json()[0]["revision"]

    revision = client.get(f"{CONFIGS}/{config_id}/revisions/{newest}")
    assert revision.status_code == 200
    assert revision.json()["state"] == now.json()  # the raw psql edit, as GET returns it
    assert revision.headers["ETag"] == now.headers["ETag"] == revision.json()["etag"]
    assert revision.content.count(b'"state": ') == 1

    again = client.get(f"{CONFIGS}/{config_id}/revisions/{newest}", headers={"If-None-Match": now.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""

    client.delete(f"{CONFIGS}/{config_id}")
    deletion = client.get(f"{CONFIGS}/{config_id}/revisions").json()[0]
    assert deletion["action"] == "deleted" and "etag" not in deletion
    gone = client.get(f"{CONFIGS}/{config_id}/revisions/{deletion['revision']}")
    assert gone.status_code == 200 and gone.json()["state"] is None and "ETag" not in gone.headers


def test_unknown_or_malformed_history_requests_are_problems(client, versions, problem):
    config_id, _ = versions
    other = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
    problem(client.get(f"{CONFIGS}/{other}/revisions"), 404, "P0002")
    problem(client.get(f"{CONFIGS}/{config_id}/revisions/999999"), 404, "P0002")
    problem(client.get(f"{APPS}/{config_id}/revisions"), 404, "P0002")  # not an application's id
    problem(client.get(f"{CONFIGS}/{config_id}/revisions", params={"limit": 0}), 400)
    problem(client.get(f"{CONFIGS}/{config_id}/revisions/0"), 400)
    problem(client.get(f"{CONFIGS}/{config_id}/revisions/x"), 400)
    problem(client.get(f"{CONFIGS}/{config_id}/diff"), 400)  # `from` is required
    problem(client.get(f"{CONFIGS}/not-a-ulid/revisions"), 400)
    problem(client.get(f"{CONFIGS}/{config_id}/diff", params={"from": 999999}), 404, "P0002")


def test_a_diff_is_a_json_patch_from_one_revision_to_another_or_to_now(client, versions):
    config_id, states = versions
    first, second = states[0]["revision"], states[1]["revision"]

    diff = client.get(f"{CONFIGS}/{config_id}/diff", params={"from": first, "to": second})
    assert diff.status_code == 200
    assert diff.headers["content-type"] == "application/json-patch+json"
    assert diff.json() == [
        {"op": "replace", "path": "/config/replicas", "value": 4},
        {"op": "add", "path": "/config/zone", "value": "a"},
    ]
    to_now = client.get(f"{CONFIGS}/{config_id}/diff", params={"from": first}).json()
    assert to_now == [
        {"op": "replace", "path": "/comments", "value": "x"},
        {"op": "replace", "path": "/config/replicas", "value": 6},
    ]
    assert client.get(f"{CONFIGS}/{config_id}/diff", params={"from": second, "to": second}).json() == []


def test_revert_makes_an_old_revision_current_as_a_new_one_with_its_etag(client, versions, rows, problem):
    config_id, states = versions
    first = states[0]
    current = client.get(f"{CONFIGS}/{config_id}").headers["ETag"]

    stale = client.post(
        f"{CONFIGS}/{config_id}/revert", json={"revision": first["revision"]}, headers={"If-Match": first["etag"]}
    )
    problem(stale, 412, "PT412")
    assert stale.headers["ETag"] == current
    assert rows("SELECT config FROM configurations") == [({"replicas": 6},)]

    reverted = client.post(
        f"{CONFIGS}/{config_id}/revert", json={"revision": first["revision"]}, headers={"If-Match": current}
    )
    assert reverted.status_code == 200
    assert reverted.json() == first["state"] and reverted.headers["ETag"] == first["etag"]
    assert rows("SELECT config, comments FROM configurations") == [({"replicas": 3}, None)]
    newest = client.get(f"{CONFIGS}/{config_id}/revisions").json()[0]
    assert newest["action"] == "updated" and newest["etag"] == first["etag"]
    assert newest["revision"] > states[-1]["revision"]


def test_revert_of_a_deleted_configuration_recreates_it_with_the_same_id(client, app_id, versions, rows, problem):
    config_id, states = versions
    client.delete(f"{CONFIGS}/{config_id}")
    deletion = client.get(f"{CONFIGS}/{config_id}/revisions").json()[0]["revision"]

    problem(client.post(f"{CONFIGS}/{config_id}/revert", json={"revision": deletion}), 400, "22023")
    refused = client.post(
        f"{CONFIGS}/{config_id}/revert", json={"revision": states[1]["revision"]}, headers={"If-Match": "*"}
    )
    problem(refused, 412, "PT412")
    assert "ETag" not in refused.headers and rows("SELECT count(*) FROM configurations") == [(0,)]

    client.post(CONFIGS, json={"application_id": app_id, "name": "production", "config": {}})  # its name, taken
    problem(client.post(f"{CONFIGS}/{config_id}/revert", json={"revision": states[1]["revision"]}), 409, "23505")
    client.delete(f"{CONFIGS}/{client.get(f'{APPS}/{app_id}').json()['configuration_ids'][0]}")

    undeleted = client.post(f"{CONFIGS}/{config_id}/revert", json={"revision": states[1]["revision"]})
    assert undeleted.status_code == 200 and undeleted.json() == states[1]["state"]
    assert client.get(f"{CONFIGS}/{config_id}").headers["ETag"] == states[1]["etag"]
    assert client.get(f"{CONFIGS}/{config_id}/revisions").json()[0]["action"] == "created"

    client.delete(f"{CONFIGS}/{config_id}")
    client.delete(f"{APPS}/{app_id}")
    orphan = client.post(f"{CONFIGS}/{config_id}/revert", json={"revision": states[1]["revision"]})
    problem(orphan, 400, "23503")  # its application is gone


def test_an_application_has_the_same_history_diff_revert_and_undelete(client, rows, problem, migrated_dsn):
    created = client.post(APPS, json={"name": "billing", "comments": "first"})
    app_id = created.json()["id"]
    client.put(f"{APPS}/{app_id}", json={"name": "billing-eu"})
    psql(migrated_dsn, "UPDATE applications SET comments = 'by hand' WHERE id = %s", app_id)
    history = client.get(f"{APPS}/{app_id}/revisions").json()
    assert [r["action"] for r in history] == ["updated", "updated", "created"]
    first = history[-1]["revision"]

    state = client.get(f"{APPS}/{app_id}/revisions/{first}")
    assert state.json()["state"] == created.json() and state.headers["ETag"] == created.headers["ETag"]
    assert client.get(f"{APPS}/{app_id}/diff", params={"from": first}).json() == [
        {"op": "replace", "path": "/comments", "value": "by hand"},
        {"op": "replace", "path": "/name", "value": "billing-eu"},
    ]

    reverted = client.post(f"{APPS}/{app_id}/revert", json={"revision": first})
    assert reverted.status_code == 200 and reverted.headers["ETag"] == created.headers["ETag"]
    client.delete(f"{APPS}/{app_id}")
    undeleted = client.post(f"{APPS}/{app_id}/revert", json={"revision": first})
    assert undeleted.status_code == 200 and undeleted.json() == created.json()
    assert rows("SELECT id, name, comments FROM applications") == [(app_id, "billing", "first")]

    problem(client.post(f"{APPS}/{app_id}/revert", json={"revision": first, "extra": 1}), 400)
    problem(client.post(f"{APPS}/{app_id}/revert", json={"revision": 0}), 400)
    problem(client.post(f"{APPS}/{app_id}/revert", content=b"revision=1", headers={"Content-Type": "text/plain"}), 415)

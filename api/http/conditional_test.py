"""Conditional headers sent on several lines are one list (RFC 9110 5.3), for reads and writes alike."""

APPS = "/api/v1/applications"
STALE = '"' + "0" * 32 + '"'


def test_if_match_on_two_lines_matches_on_either(client, rows):
    created = client.post(APPS, json={"name": "lines"})
    path = f"{APPS}/{created.json()['id']}"

    put = client.put(
        path, json={"name": "renamed"}, headers=[("If-Match", STALE), ("If-Match", created.headers["ETag"])]
    )
    stale = client.put(
        path, json={"name": "again"}, headers=[("If-Match", STALE), ("If-Match", created.headers["ETag"])]
    )

    assert put.status_code == 200 and put.json()["name"] == "renamed"
    assert stale.status_code == 412 and stale.headers["ETag"] == put.headers["ETag"]
    assert rows("SELECT name FROM applications") == [("renamed",)]


def test_if_none_match_on_two_lines_is_304_when_either_matches(client):
    created = client.post(APPS, json={"name": "lines"})
    path = f"{APPS}/{created.json()['id']}"

    matched = client.get(path, headers=[("If-None-Match", STALE), ("If-None-Match", created.headers["ETag"])])
    unmatched = client.get(path, headers=[("If-None-Match", STALE), ("If-None-Match", '"other"')])

    assert matched.status_code == 304 and matched.content == b""
    assert unmatched.status_code == 200 and unmatched.json()["name"] == "lines"


def test_delete_with_if_match_on_two_lines(client, rows):
    created = client.post(APPS, json={"name": "lines"})
    path = f"{APPS}/{created.json()['id']}"

    refused = client.delete(path, headers=[("If-Match", STALE), ("If-Match", '"other"')])
    deleted = client.delete(path, headers=[("If-Match", STALE), ("If-Match", created.headers["ETag"])])

    assert refused.status_code == 412
    assert deleted.status_code == 204 and rows("SELECT count(*) FROM applications") == [(0,)]

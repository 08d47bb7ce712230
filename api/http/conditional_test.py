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


CONFIGS = "/api/v1/configurations"


def test_if_none_match_star_on_a_put_of_what_exists_is_412_and_changes_nothing(client, rows):
    app = client.post(APPS, json={"name": "kept"}).json()
    config = client.post(CONFIGS, json={"application_id": app["id"], "name": "c", "config": {"a": 1}})

    app_put = client.put(f"{APPS}/{app['id']}", json={"name": "over"}, headers={"If-None-Match": "*"})
    config_put = client.put(
        f"{CONFIGS}/{config.json()['id']}", json={"name": "c", "config": {"a": 2}}, headers={"If-None-Match": "*"}
    )

    assert app_put.status_code == 412 and app_put.json()["sqlstate"] == "PT412"
    assert app_put.headers["ETag"] == client.get(f"{APPS}/{app['id']}").headers["ETag"]
    assert config_put.status_code == 412 and config_put.headers["ETag"] == config.headers["ETag"]
    assert rows("SELECT name FROM applications") == [("kept",)]
    assert rows("SELECT config::text FROM configurations") == [('{"a": 1}',)]


def test_if_none_match_with_the_current_tag_refuses_a_delete_and_another_tag_lets_it(client, rows):
    config = client.post(CONFIGS, json={"application_id": client.post(APPS, json={"name": "a"}).json()["id"],
                                        "name": "c", "config": {}})  # fmt: skip
    path = f"{CONFIGS}/{config.json()['id']}"

    refused = client.delete(path, headers={"If-None-Match": f"W/{config.headers['ETag']}"})  # compared weakly
    assert refused.status_code == 412 and refused.headers["ETag"] == config.headers["ETag"]
    assert rows("SELECT count(*) FROM configurations") == [(1,)]

    deleted = client.delete(path, headers={"If-None-Match": STALE})
    assert deleted.status_code == 204 and rows("SELECT count(*) FROM configurations") == [(0,)]


def test_if_none_match_on_a_put_goes_ahead_when_the_resource_has_changed(client):
    created = client.post(APPS, json={"name": "first"})
    path = f"{APPS}/{created.json()['id']}"
    client.put(path, json={"name": "second"})

    put = client.put(path, json={"name": "third"}, headers={"If-None-Match": created.headers["ETag"]})

    assert put.status_code == 200 and put.json()["name"] == "third"


def test_a_page_of_large_configurations_stops_at_its_bytes_and_links_on(client, monkeypatch):
    from api.http.routes import listing

    monkeypatch.setattr(listing, "PAGE_BYTES", 3000)
    app = client.post(APPS, json={"name": "large"}).json()["id"]
    made = [
        client.post(CONFIGS, json={"application_id": app, "name": f"c{n}", "config": {"x": "y" * 1000}}).json()["id"]
        for n in range(5)
    ]
    seen, path = [], f"{APPS}/{app}/configurations?limit=100"
    while path:
        page = client.get(path)
        assert len(page.json()) <= 3  # 1,100 bytes each: the row that reaches 3,000 is the last
        seen += [c["id"] for c in page.json()]
        link = page.headers.get("link")
        path = link[1 : link.index(">")] if link else None

    assert seen == sorted(made)

import pytest
from ulid import ULID

from api.http.routes import listing

URL = "/api/v1/applications"


def create(client, name: str, comments: str | None = None) -> dict:
    response = client.post(URL, json={"name": name, "comments": comments})
    assert response.status_code == 201, response.text
    return response.json()


def test_create_is_201_with_location_and_stores_the_row(client, rows):
    response = client.post(URL, json={"name": "billing", "comments": "owned by team X"})

    assert response.status_code == 201
    body = response.json()
    assert body == {"id": body["id"], "name": "billing", "comments": "owned by team X", "configuration_ids": []}
    assert str(ULID.from_str(body["id"])) == body["id"]
    assert response.headers["location"] == f"{URL}/{body['id']}"
    assert response.headers["content-type"] == "application/json"
    assert rows("SELECT id, name, comments FROM applications") == [(body["id"], "billing", "owned by team X")]


def test_create_without_comments_stores_null(client, rows):
    assert create(client, "billing")["comments"] is None
    assert rows("SELECT comments FROM applications") == [(None,)]


def test_create_accepts_the_longest_fields(client):
    body = create(client, "n" * 256, "c" * 1024)

    assert len(body["name"]) == 256 and len(body["comments"]) == 1024


def test_create_duplicate_name_is_409(client, problem, rows):
    create(client, "billing")

    body = problem(client.post(URL, json={"name": "billing"}), 409, "23505")

    assert "billing" in body["detail"]
    assert rows("SELECT count(*) FROM applications") == [(1,)]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "n" * 257}, "name"),
        ({"name": "ok", "comments": "c" * 1025}, "comments"),
        ({"comments": "no name"}, "name"),
        ({"name": None}, "name"),
        ({"name": 42}, "name"),
        ({"name": "ok", "owner": "unknown field"}, "owner"),
    ],
)
def test_create_invalid_body_is_400_naming_the_field_and_stores_nothing(client, problem, rows, payload, field):
    body = problem(client.post(URL, json=payload), 400)

    assert ["body", field] in [error["loc"] for error in body["errors"]]
    assert rows("SELECT count(*) FROM applications") == [(0,)]


def test_create_with_a_body_that_is_not_json_is_400(client, problem):
    problem(client.post(URL, content=b"{not json", headers={"content-type": "application/json"}), 400)


def test_get_returns_configuration_ids_in_creation_order(client):
    app = create(client, "billing")
    ids = [
        client.post("/api/v1/configurations", json={"application_id": app["id"], "name": n, "config": {}}).json()["id"]
        for n in ("zeta", "alpha", "mid")
    ]

    response = client.get(f"{URL}/{app['id']}")

    assert response.status_code == 200
    assert response.json() == {**app, "configuration_ids": ids}


def test_get_accepts_a_lowercase_id(client):
    app = create(client, "billing")

    assert client.get(f"{URL}/{app['id'].lower()}").json()["id"] == app["id"]


def test_get_unknown_is_404(client, problem):
    problem(client.get(f"{URL}/{ULID()}"), 404, "P0002")


@pytest.mark.parametrize("bad_id", ["nope", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAVX", "U" * 26])
def test_get_malformed_id_is_400(client, problem, bad_id):
    body = problem(client.get(f"{URL}/{bad_id}"), 400)

    assert body["errors"][0]["loc"] == ["path", "application_id"]


def test_put_replaces_and_returns_the_application_as_get_does(client, rows):
    app = create(client, "billing", "old")

    response = client.put(f"{URL}/{app['id'].lower()}", json={"name": "invoicing"})

    assert response.status_code == 200
    assert response.json() == {"id": app["id"], "name": "invoicing", "comments": None, "configuration_ids": []}
    assert response.json() == client.get(f"{URL}/{app['id']}").json()
    assert rows("SELECT name, comments FROM applications") == [("invoicing", None)]


def test_put_to_a_taken_name_is_409_and_changes_nothing(client, problem, rows):
    create(client, "billing")
    other = create(client, "shipping")

    problem(client.put(f"{URL}/{other['id']}", json={"name": "billing"}), 409, "23505")
    assert rows("SELECT name FROM applications ORDER BY name") == [("billing",), ("shipping",)]


def test_put_unknown_is_404(client, problem):
    problem(client.put(f"{URL}/{ULID()}", json={"name": "x"}), 404, "P0002")


def test_put_invalid_is_400(client, problem):
    app = create(client, "billing")

    problem(client.put(f"{URL}/{app['id']}", json={"name": "x", "id": "something"}), 400)
    problem(client.put(f"{URL}/{app['id']}", json={"name": "x" * 257}), 400)
    problem(client.put(f"{URL}/not-an-id", json={"name": "x"}), 400)


def test_list_returns_every_application_ordered_by_id(client):
    created = [create(client, f"app-{n}", "c" if n % 2 else None) for n in range(5)]

    response = client.get(URL)

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "link" not in response.headers
    assert response.json() == sorted(
        ({k: a[k] for k in ("id", "name", "comments")} for a in created), key=lambda a: a["id"]
    )


def test_list_of_nothing_is_an_empty_array(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert response.json() == []


def test_list_streams_all_rows_across_chunks(client, monkeypatch):
    monkeypatch.setattr(listing, "CHUNK", 3)
    ids = sorted(create(client, f"app-{n}")["id"] for n in range(7))

    assert [a["id"] for a in client.get(URL).json()] == ids
    assert [a["id"] for a in client.get(URL, params={"after": ids[1].lower()}).json()] == ids[2:]


def test_list_pages_follow_the_link_header(client):
    ids = sorted(create(client, f"app-{n}")["id"] for n in range(5))

    seen, url, pages = [], f"{URL}?limit=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        seen += [a["id"] for a in response.json()]
        pages += 1
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        if link:
            assert link.endswith('; rel="next"')

    assert seen == ids
    assert pages == 3


def test_exact_last_page_has_no_link(client):
    for n in range(2):
        create(client, f"app-{n}")

    response = client.get(URL, params={"limit": 2})

    assert len(response.json()) == 2
    assert "link" not in response.headers


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"limit": "ten"}, {"limit": -1}, {"after": "nope"}, {"after": ""}]
)
def test_list_bad_pagination_is_400(client, problem, params):
    problem(client.get(URL, params=params), 400)


@pytest.mark.parametrize("path", ["/api/v1/applications?limit=1", "/api/v1/applications/", "/docs/"])
def test_no_header_reflects_the_clients_host(client, path):
    for name in ("a", "b"):
        client.post(URL, json={"name": name})

    response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)

    assert "evil.example" not in str(response.headers)
    if "link" in response.headers:
        assert response.headers["link"].startswith("</api/v1/applications?limit=1&after=")

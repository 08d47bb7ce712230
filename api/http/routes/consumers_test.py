"""What a consumer does beyond CRUD: lists, delete, and conditional requests with ETags."""

import asyncio

import httpx
import pytest

from api.app import create_app
from api.http.routes import listing
from testing.concurrency import concurrently, statuses

APPS, CONFIGS = "/api/v1/applications", "/api/v1/configurations"


@pytest.fixture
def app_id(client) -> str:
    return client.post(APPS, json={"name": "billing"}).json()["id"]


def configure(client, app_id: str, *names: str) -> list[dict]:
    made = [client.post(CONFIGS, json={"application_id": app_id, "name": n, "config": {"n": n}}) for n in names]
    assert all(r.status_code == 201 for r in made)
    return [r.json() for r in made]


def test_the_application_list_filters_by_exact_name(client, app_id):
    client.post(APPS, json={"name": "payroll"})

    assert [a["id"] for a in client.get(APPS, params={"name": "billing"}).json()] == [app_id]
    assert client.get(APPS, params={"name": "Billing"}).json() == []
    assert [a["id"] for a in client.get(APPS, params={"name": "billing", "limit": 5}).json()] == [app_id]


def test_an_applications_configurations_in_one_request(client, app_id):
    made = configure(client, app_id, "a", "b", "c")
    other = client.post(APPS, json={"name": "payroll"}).json()["id"]
    configure(client, other, "a")

    response = client.get(f"{APPS}/{app_id}/configurations")

    assert response.status_code == 200 and response.json() == made
    assert client.get(f"{APPS}/{app_id}/configurations", params={"name": "b"}).json() == [made[1]]


def test_they_stream_across_chunks_and_page_with_links(client, app_id, monkeypatch):
    monkeypatch.setattr(listing, "CHUNK", 2)
    made = configure(client, app_id, *"abcde")

    assert client.get(f"{APPS}/{app_id}/configurations").json() == made
    seen, next_url = [], f"{APPS}/{app_id}/configurations?limit=2"
    while next_url:
        response = client.get(next_url)
        seen += response.json()
        link = response.headers.get("link")
        next_url = link[1 : link.index(">")] if link else None
    assert seen == made


def test_configurations_of_an_unknown_application_are_404(client, problem):
    problem(client.get(f"{APPS}/01ARZ3NDEKTSV4RRFFQ69G5FAV/configurations"), 404, "P0002")


def test_delete_a_configuration_then_its_application(client, app_id, problem, rows):
    [configuration] = configure(client, app_id, "production")

    body = problem(client.delete(f"{APPS}/{app_id}"), 409, "2BP01")
    assert "1 configuration" in body["detail"]
    assert client.delete(f"{CONFIGS}/{configuration['id']}").status_code == 204
    assert client.get(f"{APPS}/{app_id}").json()["configuration_ids"] == []
    problem(client.get(f"{CONFIGS}/{configuration['id']}"), 404, "P0002")
    assert client.delete(f"{APPS}/{app_id}").status_code == 204
    problem(client.delete(f"{APPS}/{app_id}"), 404, "P0002")
    assert rows("SELECT count(*) FROM applications") == [(0,)]


def test_every_answer_with_one_resource_has_its_etag_and_any_change_changes_it(client, app_id):
    app_tag = client.get(f"{APPS}/{app_id}").headers["etag"]
    created = client.post(CONFIGS, json={"application_id": app_id, "name": "p", "config": {"a": 1}})
    url = created.headers["location"]

    assert created.headers["etag"] == client.get(url).headers["etag"]
    assert client.get(f"{APPS}/{app_id}").headers["etag"] != app_tag  # its configuration ids changed
    replaced = client.put(url, json={"name": "p", "config": {"a": 2}})
    assert replaced.headers["etag"] not in (created.headers["etag"], None)
    same_again = client.put(url, json={"name": "p", "config": {"a": 1}})
    assert same_again.headers["etag"] == created.headers["etag"]  # equal content, equal tag


@pytest.mark.parametrize("header", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_if_none_match_is_304_without_a_body(client, app_id, header):
    tag = client.get(f"{APPS}/{app_id}").headers["etag"]

    response = client.get(f"{APPS}/{app_id}", headers={"If-None-Match": header.format(tag=tag)})

    assert response.status_code == 304 and response.content == b"" and response.headers["etag"] == tag
    assert client.get(f"{APPS}/{app_id}", headers={"If-None-Match": '"other"'}).status_code == 200


def test_a_stale_if_match_is_412_with_the_current_etag_and_changes_nothing(client, app_id, problem, rows):
    [configuration] = configure(client, app_id, "p")
    url = f"{CONFIGS}/{configuration['id']}"
    stale = client.get(url).headers["etag"]
    current = client.put(url, json={"name": "p", "config": {"v": 2}}).headers["etag"]

    response = client.put(url, json={"name": "p", "config": {"v": 3}}, headers={"If-Match": stale})

    problem(response, 412, "PT412")
    assert response.headers["etag"] == current
    assert rows("SELECT config FROM configurations") == [({"v": 2},)]
    problem(client.delete(url, headers={"If-Match": stale}), 412, "PT412")
    assert client.put(url, json={"name": "p", "config": {"v": 3}}, headers={"If-Match": current}).status_code == 200
    assert client.put(f"{APPS}/{app_id}", json={"name": "b"}, headers={"If-Match": "*"}).status_code == 200
    # "*" asks that it exist: a missing one stays a 404, as without the condition.
    missing = f"{CONFIGS}/01ARZ3NDEKTSV4RRFFQ69G5FAV"
    problem(client.put(missing, json={"name": "p", "config": {}}, headers={"If-Match": "*"}), 404, "P0002")
    problem(client.delete(missing, headers={"If-Match": "*"}), 404, "P0002")


def test_of_concurrent_puts_with_one_if_match_exactly_one_wins(settings, client, app_id, rows):
    [configuration] = configure(client, app_id, "p")
    url = f"{CONFIGS}/{configuration['id']}"
    tag = client.get(url).headers["etag"]

    async def race():
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await asyncio.gather(
                    *(
                        http.put(url, json={"name": "p", "config": {"w": n}}, headers={"If-Match": tag})
                        for n in range(20)
                    )
                )

    responses = asyncio.run(race())

    assert statuses(responses) == {200: 1, 412: 19}
    [winner] = [r.json()["config"] for r in responses if r.status_code == 200]
    assert rows("SELECT config FROM configurations") == [(winner,)]


def test_deleting_an_application_while_configurations_are_created_leaves_no_orphan(settings, client, rows):
    for round_ in range(5):
        app_id = client.post(APPS, json={"name": f"racing-{round_}"}).json()["id"]
        responses = asyncio.run(
            concurrently(
                settings,
                ("POST", CONFIGS, {"application_id": app_id, "name": "p", "config": {}}),
                ("DELETE", f"{APPS}/{app_id}", None),
            )
        )
        created, deleted = responses[0].status_code, responses[1].status_code
        assert (created, deleted) in {(201, 409), (400, 204)}, (created, deleted)
    orphans = (
        "SELECT count(*) FROM configurations c LEFT JOIN applications a ON a.id = c.application_id WHERE a.id IS NULL"
    )
    assert rows(orphans) == [(0,)]

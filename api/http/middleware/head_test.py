"""HEAD on every GET route, over a real server: the GET's status and headers, no body, no wait."""

import asyncio

import pytest

from testing.live_api import served

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"


def test_head_answers_what_get_does_without_the_body_on_every_get_route(settings):
    async def scenario() -> list[tuple[str, int, int, dict, dict]]:
        async with served(settings) as (client, _):
            app = (await client.post(APPS, json={"name": "billing/eu"})).json()
            config = await client.post(CONFIGS, json={"application_id": app["id"], "name": "p", "config": {"a": 1}})
            paths = [
                f"{APPS}/{app['id']}",
                f"{CONFIGS}/{config.json()['id']}",
                f"{APPS}/by-name/billing%2Feu",
                f"{APPS}/by-name/billing%2Feu/configurations/p",
                APPS,
                f"{APPS}?limit=1",
                f"{APPS}/{app['id']}/configurations",
                f"{APPS}/01ARZ3NDEKTSV4RRFFQ69G5FAV",  # 404
                f"{APPS}/not-an-id",  # 400
                "/healthz",
                "/readyz",
                "/metrics",
                "/openapi.json",
                "/docs",
            ]
            seen = []
            for path in paths:
                get, head = await client.get(path), await client.head(path)
                seen.append((path, get.status_code, head.status_code, dict(get.headers), dict(head.headers), head))
            return seen

    for path, get_status, head_status, get_headers, head_headers, head in asyncio.run(scenario()):
        assert head_status == get_status, path
        assert head.content == b"", path
        for name in ("etag", "content-type", "link", "location", "retry-after"):
            if path != "/metrics":  # a scrape's body (its length) changes from one request to the next
                assert head_headers.get(name) == get_headers.get(name), (path, name)
        if "content-length" in get_headers and path not in ("/metrics", "/readyz"):
            assert head_headers["content-length"] == get_headers["content-length"], path


@pytest.mark.parametrize("asks", ["events", "wait"])
def test_head_of_an_event_stream_or_a_current_long_poll_ends_at_its_headers(settings, asks):
    async def scenario() -> tuple[int, str, bytes, float]:
        async with served(settings) as (client, _):
            app = (await client.post(APPS, json={"name": "watched"})).json()
            if asks == "events":
                path, headers = f"{APPS}/{app['id']}/events", {}
            else:  # a tag that does not match: answered at once, as GET would be
                path, headers = f"{APPS}/{app['id']}?wait=30", {"If-None-Match": '"stale"'}
            started = asyncio.get_running_loop().time()
            async with asyncio.timeout(5):
                head = await client.head(path, headers=headers)
            return (
                head.status_code,
                head.headers.get("content-type", ""),
                head.content,
                asyncio.get_running_loop().time() - started,
            )

    status, content_type, body, took = asyncio.run(scenario())
    assert status == 200 and body == b"" and took < 2
    assert content_type.startswith("text/event-stream" if asks == "events" else "application/json")


def test_head_where_no_get_is_405_naming_the_methods(client):
    response = client.head(CONFIGS)

    assert response.status_code == 405 and response.headers["allow"] == "POST"

"""A DirectRoute answers as FastAPI's own handling would: the same 400 for a bad path
parameter, the same answers otherwise; and it refuses what it cannot serve at start-up."""

import pytest
from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.http import routing
from api.http.routing import DirectRoute

BAD_PATHS = (
    "/api/v1/applications/not-a-ulid",
    "/api/v1/configurations/8ZZZZZZZZZZZZZZZZZZZZZZZZZ",  # past the largest ULID
    "/api/v1/configurations/%00",
)


@pytest.fixture
def through_fastapi():
    """Serve the DirectRoutes through FastAPI's handling for the length of a test."""
    routing.serve_directly(False)
    try:
        yield
    finally:
        routing.serve_directly(True)


@pytest.mark.parametrize("path", BAD_PATHS)
def test_a_bad_id_is_the_400_fastapi_answers(client, path, request):
    direct = client.get(path)
    request.getfixturevalue("through_fastapi")
    framework = client.get(path)

    assert direct.status_code == framework.status_code == 400
    assert direct.headers["content-type"] == framework.headers["content-type"] == "application/problem+json"
    assert {**direct.json(), "instance": None} == {**framework.json(), "instance": None}


def test_a_resource_read_directly_and_through_fastapi_is_the_same_answer(client, request):
    created = client.post("/api/v1/applications", json={"name": "direct", "comments": None}).json()
    path = f"/api/v1/applications/{created['id'].lower()}"  # made canonical by the path parameter's field
    direct = client.get(path)
    request.getfixturevalue("through_fastapi")
    framework = client.get(path)

    assert direct.status_code == framework.status_code == 200
    assert direct.content == framework.content
    assert direct.headers["etag"] == framework.headers["etag"]


def test_a_direct_route_refuses_parameters_it_would_not_read():
    router = APIRouter(route_class=DirectRoute)

    with pytest.raises(TypeError, match="path parameters only"):

        @router.get("/things/{thing}")
        async def read(thing: str, request: Request, limit: int = 10) -> Response: ...

    with pytest.raises(TypeError, match="its request as `request`"):

        @router.get("/others/{thing}")
        async def other(thing: str) -> Response: ...

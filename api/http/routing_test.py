"""A DirectRoute answers as FastAPI's own handling would: the same 400 for a bad path
parameter or body, the same 415, the same answers otherwise; and it refuses what it cannot
serve at start-up."""

from typing import Annotated

import fastapi.routing
import pytest
from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from pydantic import BaseModel

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


# Bodies that JSON parsers disagree on, or that the model refuses: each answered as FastAPI answers it.
BAD_BODIES = (
    (b'{"name": "x",}', "application/json"),
    (b'{"name": "x"}garbage', "application/json"),
    (b'\xef\xbb\xbf{"name": "bom"}', "application/json"),
    ('{"name": "utf-16"}'.encode("utf-16"), "application/json"),
    (b'{"name": "\\ud800"}', "application/json"),
    (b'{"name": "nul\\u0000"}', "application/json"),
    (b'{"name": NaN}', "application/json"),
    (b'{"name": "\xff"}', "application/json"),
    (b'{"name": "a\nb"}', "application/json"),
    (b'{"name": 1}', "application/json"),
    (b'{"name": "x", "extra": 1}', "application/json"),
    (b'{"name": ""}', "application/json"),
    (b"[]", "application/json"),
    (b"", "application/json"),
    (b'{"name": "no type"}', None),
    (b"{not json", None),
    (b'{"name": "form"}', "application/x-www-form-urlencoded"),
    (b'{"name": "text"}', "text/plain"),
    (b'{"name": "two slashes"}', "application/x/+json"),  # FastAPI's parser reads text/plain
    (b'{"name": "suffix"}', "application/vnd.appconfig+json; charset=utf-8"),
)


@pytest.mark.parametrize(("body", "content_type"), BAD_BODIES)
def test_a_body_is_answered_as_fastapi_answers_it(client, request, body, content_type):
    def create() -> tuple[int, dict]:
        headers = {"content-type": content_type} if content_type else {}
        response = client.post("/api/v1/applications", content=body, headers=headers)
        listed = client.get("/api/v1/applications").json()
        if response.status_code == 201:
            assert [app["id"] for app in listed] == [response.json()["id"]]
            client.delete(f"/api/v1/applications/{response.json()['id']}")
        else:
            assert listed == []  # nothing stored
        return response.status_code, {**response.json(), "instance": None, "id": None}

    direct = create()
    request.getfixturevalue("through_fastapi")
    framework = create()

    assert direct == framework
    assert direct[0] in (201, 400, 415)


def test_a_body_the_parsers_agree_on_is_stored_alike(client, request, monkeypatch):
    solved = []  # FastAPI's own handling, counted
    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting(fastapi.routing.solve_dependencies, solved))
    bodies = [b'{"name": "dup", "name": "last"}', b'{"name": "\\ud83d\\ude00", "comments": "\\u00e9"}']
    direct = [client.post("/api/v1/applications", content=b, headers={"content-type": "application/json"})
              for b in bodies]  # fmt: skip
    assert solved == []  # both served directly
    for response in direct:
        client.delete(response.headers["location"].removeprefix("http://testserver"))
    solved.clear()  # the deletes go through FastAPI
    request.getfixturevalue("through_fastapi")
    framework = [client.post("/api/v1/applications", content=b, headers={"content-type": "application/json"})
                 for b in bodies]  # fmt: skip

    assert [r.status_code for r in direct] == [r.status_code for r in framework] == [201, 201]
    assert [{**r.json(), "id": None} for r in direct] == [{**r.json(), "id": None} for r in framework]
    assert [r.json()["name"] for r in direct] == ["last", "\U0001f600"]
    assert len(solved) == 2


def counting(function, calls: list):
    async def counted(*args, **kwargs):
        calls.append(1)
        return await function(*args, **kwargs)

    return counted


def test_a_direct_route_refuses_parameters_it_would_not_read():
    router = APIRouter(route_class=DirectRoute)

    with pytest.raises(TypeError, match="path parameters and a model body only"):

        @router.get("/things/{thing}")
        async def read(thing: str, request: Request, limit: int = 10) -> Response: ...

    with pytest.raises(TypeError, match="its request as `request`"):

        @router.get("/others/{thing}")
        async def other(thing: str) -> Response: ...

    class Thing(BaseModel):
        name: str

    with pytest.raises(TypeError, match="one model, the whole body"):

        @router.post("/things")
        async def create(request: Request, thing: Annotated[Thing, Body(embed=True)]) -> Response: ...

    with pytest.raises(TypeError, match="one model, the whole body"):

        @router.post("/names")
        async def name(request: Request, name: Annotated[str, Body()]) -> Response: ...

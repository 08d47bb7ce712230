"""Hostile and malformed input: always a clean 4xx problem, never a 500, and nothing stored."""

import pytest

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"
JSON = {"content-type": "application/json"}


@pytest.fixture
def app_id(client) -> str:
    return client.post(APPS, json={"name": "owner"}).json()["id"]


def nothing_stored(rows, applications: int = 0) -> None:
    assert rows("SELECT count(*) FROM applications") == [(applications,)]
    assert rows("SELECT count(*) FROM configurations") == [(0,)]


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'["name"]',
        b'"billing"',
        b"42",
        b"null",
        b'{"name": "bad\xff\xfeutf8"}',
        b'{"name": "nul \\u0000 inside"}',
        b'{"name": "lone \\ud800 surrogate"}',
        b'{"name": "ok", "comments": "nul \\u0000"}',
        b'{"name": "ok", "comments": "lone \\udc00"}',
        b'{"name": "\\u0000", "unknown": 1}',
        b'{"name": "ok", "\\ud800": 1}',
        b'{"name": null}',
        b'{"name": ["a"]}',
        b'{"name": "ok", "comments": 5}',
    ],
)
def test_bad_application_bodies_are_400(client, problem, rows, body):
    problem(client.post(APPS, content=body, headers=JSON), 400)
    nothing_stored(rows)


@pytest.mark.parametrize(
    "config",
    [
        b"NaN",
        b'{"k": NaN}',
        b'{"k": Infinity}',
        b'{"k": -Infinity}',
        b'{"k\\u0000": 1}',
        b'{"k": "v\\u0000"}',
        b'{"k": ["\\ud800"]}',
        b'{"\\udfff": 1}',
        b'{"k": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"k": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3000 + b"}",
        b"[1, 2]",
        b'"text"',
    ],
)
def test_bad_configs_are_400(client, problem, rows, app_id, config):
    body = b'{"application_id": "%s", "name": "n", "config": %s}' % (app_id.encode(), config)

    problem(client.post(CONFIGS, content=body, headers=JSON), 400)
    nothing_stored(rows, applications=1)


def test_a_config_at_the_depth_limit_is_stored(client, app_id):
    from api.schema.models import MAX_CONFIG_DEPTH

    deep: dict = {}
    for _ in range(MAX_CONFIG_DEPTH - 1):
        deep = {"k": deep}

    response = client.post(CONFIGS, json={"application_id": app_id, "name": "n", "config": deep})

    assert response.status_code == 201
    assert response.json()["config"] == deep


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/applications/%00",
        "/api/v1/applications/%ED%A0%80",
        "/api/v1/applications/01arz3ndektsv4rrffq69g5fa%00",
        "/api/v1/applications/" + "A" * 5000,
        "/api/v1/configurations/%00",
        "/api/v1/configurations/01ARZ3NDEKTSV4RRFFQ69G5FAVX",
        "/api/v1/applications?after=%00",
        "/api/v1/applications?after=%ED%A0%80",
        "/api/v1/applications?limit=%00",
        "/api/v1/applications?limit=1e3",
        "/api/v1/applications?limit=99999999999999999999999",
    ],
)
def test_bad_path_and_query_values_are_400(client, problem, path):
    problem(client.get(path), 400)


def test_unknown_query_parameters_are_ignored(client):
    assert client.get(APPS, params={"colour": "\x00"}).status_code == 200


def test_wrong_case_ids_in_body_and_path_still_work(client, app_id):
    created = client.post(CONFIGS, json={"application_id": app_id.lower(), "name": "n", "config": {}}).json()

    assert client.get(f"{CONFIGS}/{created['id'].lower()}").json()["application_id"] == app_id


@pytest.mark.parametrize("path", [APPS, CONFIGS])
@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{bad", {}, 400),  # no Content-Type: FastAPI reads it as JSON first, and refuses it
        (b'{"name": "x"}', {}, 415),  # no Content-Type, but JSON: still not declared
        (b"", {}, 415),
        (b"{bad", {"content-type": "text/plain"}, 415),
        (b'{"name": "x"}', {"content-type": "application/x-www-form-urlencoded"}, 415),
        (b"{bad", {"content-type": "application/merge-patch+json"}, 400),
    ],
)
def test_a_body_not_declared_json_is_415_in_the_order_fastapi_answers(client, rows, path, body, headers, status):
    problem_body = client.post(path, content=body, headers=headers)

    assert problem_body.status_code == status, problem_body.text
    assert problem_body.headers["content-type"] == "application/problem+json"
    nothing_stored(rows)

import pytest

from api.app import create_app

URL = "/api/v1/applications"


@pytest.fixture
def small_client(settings):
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings.model_copy(update={"max_body_bytes": 2048}))) as client:
        yield client


def test_a_body_over_the_limit_is_413_and_stores_nothing(small_client, problem, rows):
    problem(small_client.post(URL, json={"name": "x", "comments": "c" * 3000}), 413)
    assert rows("SELECT count(*) FROM applications") == [(0,)]


def test_a_body_over_the_limit_without_content_length_is_413(small_client, problem):
    def chunks():
        yield b'{"name": "x", "comments": "'
        for _ in range(10):
            yield b"c" * 500
        yield b'"}'

    response = small_client.post(URL, content=chunks(), headers={"content-type": "application/json"})

    problem(response, 413)


def test_a_body_just_under_the_limit_is_served(small_client):
    assert small_client.post(URL, json={"name": "x", "comments": "c" * 1000}).status_code == 201


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"])
def test_a_body_that_is_not_declared_json_is_415_and_stores_nothing(client, problem, rows, content_type):
    headers = {"content-type": content_type} if content_type else {}

    problem(client.post(URL, content=b'{"name": "x"}', headers=headers), 415)
    assert rows("SELECT count(*) FROM applications") == [(0,)]


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/merge-patch+json"])
def test_json_media_types_with_parameters_or_suffix_are_accepted(client, content_type):
    response = client.post(URL, content=b'{"name": "x"}', headers={"content-type": content_type})

    assert response.status_code == 201

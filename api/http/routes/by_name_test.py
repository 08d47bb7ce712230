from urllib.parse import quote

import pytest

APPS, CONFIGS, BY_NAME = "/api/v1/applications", "/api/v1/configurations", "/api/v1/applications/by-name"

NAMES = ["billing", "team/billing", "100% sure", "what?", "#hash", "a b", "ünïcødé 名前", "x" * 256, "configurations"]


def url(*names: str) -> str:
    return BY_NAME + "/" + "/configurations/".join(quote(name, safe="") for name in names)


@pytest.mark.parametrize("name", NAMES)
def test_an_application_and_its_configuration_by_percent_encoded_names(client, name):
    app = client.post(APPS, json={"name": name}).json()
    configuration = client.post(CONFIGS, json={"application_id": app["id"], "name": name, "config": {"k": 1}})

    by_name = client.get(url(name))
    config_by_name = client.get(url(name, name))

    assert by_name.status_code == 200 and by_name.text == client.get(f"{APPS}/{app['id']}").text
    assert config_by_name.status_code == 200 and config_by_name.text == configuration.text
    assert config_by_name.headers["etag"] == configuration.headers["etag"]


def test_a_name_holding_configurations_and_slashes_is_still_one_name(client):
    app = client.post(APPS, json={"name": "a/configurations/b"}).json()
    client.post(APPS, json={"name": "a"})

    assert client.get(url("a/configurations/b")).json()["id"] == app["id"]
    assert client.get(url("a", "b")).status_code == 404


def test_missing_names_are_404_saying_which(client, problem):
    app = client.post(APPS, json={"name": "billing"}).json()
    client.post(CONFIGS, json={"application_id": app["id"], "name": "production", "config": {}})

    assert "no application" in problem(client.get(url("nope")), 404, "P0002")["detail"]
    assert "no application" in problem(client.get(url("nope", "production")), 404, "P0002")["detail"]
    assert "no configuration" in problem(client.get(url("billing", "nope")), 404, "P0002")["detail"]


@pytest.mark.parametrize("path", ["x" * 257, "%00", "%FF", "a/b/c"])
def test_impossible_names_and_paths_are_problems_not_500s(client, path):
    assert client.get(f"{BY_NAME}/{path}").status_code in (400, 404)


def test_if_none_match_gives_304(client):
    client.post(APPS, json={"name": "billing"})
    tag = client.get(url("billing")).headers["etag"]

    response = client.get(url("billing"), headers={"If-None-Match": tag})

    assert response.status_code == 304 and response.content == b"" and response.headers["etag"] == tag


def test_a_bad_wait_is_refused_before_the_names_are_read(client):
    # A name with an encoded "/" that matches no route, and a bad wait: the wait is what is wrong first.
    response = client.get(f"{BY_NAME}/a%2Fb/x", params={"wait": "abc"}, headers={"If-None-Match": "*"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["loc"] == ["query", "wait"]

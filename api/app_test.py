import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from settings import SPEED_TRICKS, Settings


def test_requests_while_the_database_is_unreachable_are_503_with_retry_after(tmp_path, problem):
    app = create_app(Settings(_env_file=None, database_url=f"host={tmp_path} port=1 dbname=none connect_timeout=1"))
    with TestClient(app) as client:
        response = client.get("/api/v1/applications")

    problem(response, 503)
    assert response.headers["retry-after"] == "1"


def test_unknown_route_and_wrong_method_are_problems(client, problem):
    problem(client.get("/api/v1/nothing"), 404)
    response = client.delete("/api/v1/applications")
    problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD, POST"  # every route of the path, not just the first
    assert client.post("/api/v1/applications/01ARZ3NDEKTSV4RRFFQ69G5FAV").headers["allow"] == "DELETE, GET, HEAD, PUT"


def test_unexpected_failure_is_a_generic_500_with_details_only_in_the_log(settings, problem, caplog):
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret detail")

    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get("/boom", headers={"X-Request-ID": "boom-1"})

    body = problem(response, 500)
    assert response.headers["x-request-id"] == "boom-1"
    assert [r.request_id for r in caplog.records if r.levelno == logging.ERROR] == ["boom-1"]
    assert "secret" not in response.text
    assert body["detail"] == "The server failed to answer this request; the failure has been logged."
    assert any("secret detail" in str(record.exc_info) for record in caplog.records)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_doc_pages_and_their_assets_come_from_this_service(client, page):
    response = client.get(page)

    assert response.status_code == 200
    assert "/openapi.json" in response.text
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert assets and all(asset.startswith("/docs-assets/") for asset in assets)
    assert all(client.get(asset).status_code == 200 for asset in assets)


def test_openapi_documents_problems_and_not_422(client):
    document = client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }

    assert set(operations) >= {
        ("POST", "/api/v1/applications"),
        ("GET", "/api/v1/applications"),
        ("GET", "/api/v1/applications/{application_id}"),
        ("PUT", "/api/v1/applications/{application_id}"),
        ("POST", "/api/v1/configurations"),
        ("GET", "/api/v1/configurations/{configuration_id}"),
        ("PUT", "/api/v1/configurations/{configuration_id}"),
    }
    assert all("422" not in op["responses"] for op in operations.values())
    assert set(operations["PUT", "/api/v1/applications/{application_id}"]["responses"]) >= {"200", "400", "404", "409"}
    assert set(operations["POST", "/api/v1/configurations"]["responses"]) >= {"201", "400", "409", "413", "415"}
    assert set(operations["POST", "/api/v1/applications"]["responses"]) >= {"201", "400", "409", "413", "415"}
    assert "Location" in operations["POST", "/api/v1/applications"]["responses"]["201"]["headers"]
    problem = operations["GET", "/api/v1/configurations/{configuration_id}"]["responses"]["404"]
    assert problem["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
    assert all(op.get("description") for op in operations.values())
    assert "examples" in document["components"]["schemas"]["ApplicationIn"]
    # The documentation's order, although the probes are routed first.
    assert [tag["name"] for tag in document["tags"]] == [
        "applications",
        "configurations",
        "by name",
        "history",
        "watch",
        "health",
    ]


def test_every_body_has_the_one_json_form_jsonb_writes(client):
    apps, configs = "/api/v1/applications", "/api/v1/configurations"
    app = client.post(apps, json={"name": "billing", "comments": 'ünïcode "quoted"'})
    app_id = app.json()["id"]
    client.post(apps, json={"name": "payroll"})  # lists of more than one join their items too
    config = {"replicas": 3, "nested": {"list": [1, "two", None, True], "text": "ünï"}}
    configuration = client.post(configs, json={"application_id": app_id, "name": "p", "config": config})
    responses = [
        app,
        configuration,
        client.get(f"{apps}/{app_id}"),
        client.get(configuration.headers["location"]),
        client.get(apps),
        client.get(apps, params={"limit": 2}),
        client.get("/healthz"),
        client.get(f"{apps}/nope"),  # 400, with errors
        client.get(f"{apps}/01ARZ3NDEKTSV4RRFFQ69G5FAV"),  # 404 from the database
        client.post(apps, json={"name": "billing"}),  # 409
        client.delete(apps),  # 405
        client.post(apps, content="{}", headers={"Content-Type": "text/plain"}),  # 415
    ]

    assert [r.status_code for r in responses] == [201, 201, 200, 200, 200, 200, 200, 400, 404, 409, 405, 415]
    for response in responses:
        assert response.text == json.dumps(json.loads(response.text), ensure_ascii=False), response.text


def test_openapi_names_operations_and_schemas_for_generated_clients(client):
    document = client.get("/openapi.json").json()
    operation_ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]

    assert sorted(operation_ids) == [
        "create_application",
        "create_configuration",
        "delete_application",
        "delete_configuration",
        "diff_application",
        "diff_configuration",
        "get_application",
        "get_application_by_name",
        "get_application_revision",
        "get_configuration",
        "get_configuration_by_name",
        "get_configuration_revision",
        "healthz",
        "list_application_revisions",
        "list_applications",
        "list_changes",
        "list_configuration_revisions",
        "list_configurations",
        "readyz",
        "replace_application",
        "replace_configuration",
        "revert_application",
        "revert_configuration",
        "stream_application_events",
    ]
    assert all(re.fullmatch(r"[A-Z][A-Za-z]+", name) for name in document["components"]["schemas"])


def test_openapi_declares_headers_and_an_example_per_response(client):
    document = client.get("/openapi.json").json()
    paths = document["paths"]

    for item in paths.values():
        for operation in item.values():
            for status, response in operation["responses"].items():
                assert "X-Request-ID" in response["headers"]
                if status == "503":
                    assert "Retry-After" in response["headers"]
                if status.startswith(("4", "5")):
                    assert response["content"]["application/problem+json"]["example"]["status"] == int(status)
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                assert document["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["examples"]
    assert "Link" in paths["/api/v1/applications"]["get"]["responses"]["200"]["headers"]
    assert "Location" in paths["/api/v1/configurations"]["post"]["responses"]["201"]["headers"]
    for name in ("Application", "ApplicationSummary", "Configuration"):
        assert document["components"]["schemas"][name]["examples"]


def test_openapi_shows_what_the_server_rejects(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    create_configuration = document["paths"]["/api/v1/configurations"]["post"]

    assert schemas["ApplicationIn"]["properties"]["name"]["pattern"] == "^[^\\u0000]*$"
    assert re.fullmatch(schemas["ApplicationIn"]["properties"]["name"]["pattern"], "a\x00b") is None
    assert schemas["Config"]["x-max-stored-bytes"] == 1_048_576  # the config of every body (a $ref)
    assert "23503" in create_configuration["responses"]["400"]["description"]
    assert (
        "22023"
        in document["paths"]["/api/v1/configurations/{configuration_id}"]["put"]["responses"]["400"]["description"]
    )


def test_openapi_declares_the_conditional_requests(client):
    paths = client.get("/openapi.json").json()["paths"]
    by_id = {"applications": "application_id", "configurations": "configuration_id"}

    reads = [paths[f"/api/v1/{kind}/{{{param}}}"]["get"] for kind, param in by_id.items()]
    reads += [
        paths["/api/v1/applications/by-name/{application_name}"]["get"],
        paths["/api/v1/applications/by-name/{application_name}/configurations/{configuration_name}"]["get"],
    ]
    for operation in reads:
        assert "ETag" in operation["responses"]["200"]["headers"] and "304" in operation["responses"]
        assert "If-None-Match" in {p["name"] for p in operation["parameters"]}
    for kind, param in by_id.items():
        for method in ("put", "delete"):
            operation = paths[f"/api/v1/{kind}/{{{param}}}"][method]
            assert "If-Match" in {p["name"] for p in operation["parameters"]}
            assert "ETag" in operation["responses"]["412"]["headers"]
        assert "204" in paths[f"/api/v1/{kind}/{{{param}}}"]["delete"]["responses"]
        assert "ETag" in paths[f"/api/v1/{kind}"]["post"]["responses"]["201"]["headers"]
    assert "Link" in paths["/api/v1/applications/{application_id}/configurations"]["get"]["responses"]["200"]["headers"]


def test_with_every_speed_trick_off_the_service_answers_the_same(migrated_dsn, rows):
    # What bench.tricks measures against must be the same service, only slower.
    settings = Settings(
        _env_file=None,
        database_url=migrated_dsn,
        pool_min_size=1,
        pool_max_size=2,
        speed_tricks_off=",".join(SPEED_TRICKS),
    )
    with TestClient(create_app(settings)) as client:
        created = client.post("/api/v1/applications", json={"name": "plain"})
        app_id = created.json()["id"]
        config = client.post("/api/v1/configurations", json={"application_id": app_id, "name": "c", "config": {}})
        path = f"/api/v1/configurations/{config.json()['id']}"
        etag = client.get(path).headers["ETag"]
        waited = client.get(f"{path}?wait=1", headers={"If-None-Match": etag})
        listed = client.get(f"/api/v1/applications/{app_id}/configurations")
        missing = client.get("/api/v1/applications/01ARZ3NDEKTSV4RRFFQ69G5FAV")

    assert created.status_code == 201 and config.status_code == 201
    assert waited.status_code == 304 and waited.headers["ETag"] == etag
    assert [c["name"] for c in listed.json()] == ["c"]
    assert missing.status_code == 404 and missing.json()["sqlstate"] == "P0002"
    assert rows("SELECT name FROM applications") == [("plain",)]


def test_openapi_holds_config_once_and_says_absent_rather_than_null(client):
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]

    # One component, referred to by every body that carries a config: one class in generated clients.
    assert schemas["Config"]["type"] == "object"
    for name in ("ConfigurationIn", "ConfigurationUpdate", "Configuration"):
        assert schemas[name]["properties"]["config"] == {"$ref": "#/components/schemas/Config"}
    # What a body leaves out when it has none is optional, never null, with no default.
    for name, field in (("Problem", "sqlstate"), ("Problem", "errors"), ("Status", "problems")):
        schema = schemas[name]["properties"][field]
        assert "anyOf" not in schema and "default" not in schema and schema["type"] != "null"
        assert field not in schemas[name].get("required", [])
    by_name = document["paths"]["/api/v1/applications/by-name/{application_name}"]["get"]
    assert (
        "no application is named"
        in by_name["responses"]["404"]["content"]["application/problem+json"]["example"]["detail"]
    )

import json
import logging
import re

import httpx
import pytest


def test_each_request_logs_one_line_with_method_path_status_and_duration(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.requests"):
        client.get("/api/v1/applications/nope")

    lines = [r.getMessage() for r in caplog.records if r.name == "api.requests"]
    assert len(lines) == 1
    assert re.fullmatch(r"GET /api/v1/applications/nope 400 \d+\.\dms", lines[0])


def test_a_sensible_client_request_id_is_kept_and_logged(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.requests"):
        response = client.get("/healthz", headers={"X-Request-ID": "trace-42:abc"})

    assert response.headers["x-request-id"] == "trace-42:abc"
    assert [r.request_id for r in caplog.records if r.name == "api.requests"] == ["trace-42:abc"]


@pytest.mark.parametrize("sent", [None, "", "two words", "line\nbreak", "x" * 200])
def test_otherwise_a_new_id_is_made(client, sent):
    headers = {"X-Request-ID": sent} if sent is not None else {}

    returned = client.get("/healthz", headers=headers).headers["x-request-id"]

    assert re.fullmatch(r"[0-9a-f]{32}", returned)


def test_error_responses_carry_the_id_too(client):
    response = client.get("/api/v1/applications/nope", headers={"X-Request-ID": "err-1"})

    assert response.status_code == 400
    assert response.headers["x-request-id"] == "err-1"


def test_a_path_cannot_forge_or_restyle_a_log_line(migrated_dsn, launch_api):
    process, base, log = launch_api(migrated_dsn)
    forged = "%0A2026-01-01T00:00:00.000Z%20INFO%20api.requests%20[-]:%20GET%20/admin%20200%200.1ms"
    for path in (forged, "x%0Dy", "x%00y", "%1B[31mred%1B[0m", "x%E2%80%A8y"):
        assert httpx.get(f"{base}/api/v1/applications/{path}").status_code in (400, 404)
    process.terminate()
    process.wait(15)

    lines = log.read_text().splitlines()
    requests = [line for line in lines if " api.requests " in line and "/api/v1/" in line]
    assert len(requests) == 5
    assert all(line.isprintable() for line in lines)
    assert all(re.match(r"\d{4}-\d\d-\d\dT", line) or line.startswith(" ") for line in lines)
    assert "/api/v1/applications/\\x0a2026-01-01T00:00:00.000Z INFO" in requests[0]


def test_with_log_format_json_each_request_is_one_json_object_with_its_fields(migrated_dsn, launch_api):
    process, base, log = launch_api(migrated_dsn, LOG_FORMAT="json")
    missing = httpx.get(f"{base}/api/v1/applications/01ARZ3NDEKTSV4RRFFQ69G5FAV", headers={"X-Request-ID": "json-1"})
    forged = httpx.get(f"{base}/api/v1/x%0A%7B%22level%22:%22CRITICAL%22%7D%E2%80%A8%1B[31m")
    process.terminate()
    process.wait(15)

    lines = log.read_text().splitlines()
    assert all(line.isascii() and line.isprintable() for line in lines)
    entries = [json.loads(line) for line in lines]  # every line, uvicorn's own included
    assert {"time", "level", "logger", "message", "request_id"} <= set(entries[0])
    [request] = [e for e in entries if e["request_id"] == "json-1"]
    assert missing.status_code == 404
    assert request | {"time": None, "duration_ms": None, "message": None} == {
        "time": None,
        "level": "INFO",
        "logger": "api.requests",
        "message": None,
        "request_id": "json-1",
        "method": "GET",
        "route": "/api/v1/applications/{application_id}",
        "status": 404,
        "duration_ms": None,
        "client": "127.0.0.1",
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", request["time"])
    assert isinstance(request["duration_ms"], float)
    [unrouted] = [e for e in entries if e.get("status") == 404 and e.get("route") is None]
    assert forged.status_code == 404
    assert "\n" in unrouted["message"] and "\u2028" in unrouted["message"]  # data inside the object

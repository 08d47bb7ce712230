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

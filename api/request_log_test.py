import logging
import re


def test_each_request_logs_one_line_with_method_path_status_and_duration(client, caplog):
    with caplog.at_level(logging.INFO, logger="api.requests"):
        client.get("/api/v1/applications/nope")

    lines = [r.getMessage() for r in caplog.records if r.name == "api.requests"]
    assert len(lines) == 1
    assert re.fullmatch(r"GET /api/v1/applications/nope 400 \d+\.\dms", lines[0])

import json
import logging
import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from api.observability import log_lines, logs
from api.observability.log_lines import one_line
from api.observability.logs import _BatchWriter, configure_logging, request_id, stop_logging
from devtools.api_process import free_port


def test_records_go_out_once_in_utc_at_the_configured_level(capsys):
    configure_logging("WARNING")
    configure_logging("INFO")  # configuring again replaces, never duplicates

    logging.getLogger("api.test").debug("hidden")
    logging.getLogger("api.test").info("shown %d", 1)
    stop_logging()  # the writer thread writes out what is queued

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO api\.test \[-\]: shown 1", lines[0])


def _written_within(capsys, seconds: float, *texts: str) -> str:
    written, deadline = "", time.monotonic() + seconds
    while not all(text in written for text in texts) and time.monotonic() < deadline:
        time.sleep(0.01)
        written += capsys.readouterr().err
    return written


def test_records_are_written_within_moments_without_waiting_for_a_stop(capsys):
    configure_logging("INFO")
    try:
        logging.getLogger("api.test").info("soon")
        assert "soon" in _written_within(capsys, 2, "soon")  # gathered for DELAY_SECONDS at most
    finally:
        stop_logging()


def test_a_warning_is_written_at_once_with_what_was_gathered(capsys, monkeypatch):
    monkeypatch.setattr(_BatchWriter, "DELAY_SECONDS", 60)
    configure_logging("INFO")
    try:
        logging.getLogger("api.test").info("gathered")
        assert "gathered" not in _written_within(capsys, 0.3, "gathered")

        logging.getLogger("api.test").warning("at once")
        written = _written_within(capsys, 5, "gathered", "at once")
        assert "gathered" in written and "at once" in written
    finally:
        stop_logging()


def test_records_carry_the_request_id_of_the_moment_they_were_made(capsys):
    configure_logging("INFO")
    token = request_id.set("req-7")
    try:
        logging.getLogger("api.test").info("inside")
    finally:
        request_id.reset(token)
    logging.getLogger("api.test").info("outside")
    stop_logging()

    lines = capsys.readouterr().err.splitlines()
    assert "[req-7]: inside" in lines[0] and "[-]: outside" in lines[1]


def test_exceptions_are_written_with_their_traceback(capsys):
    configure_logging("INFO")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("api.test").exception("failed")
    stop_logging()

    err = capsys.readouterr().err
    assert "failed" in err and "Traceback" in err and "ValueError: boom" in err


FORGED = "\n2026-01-01T00:00:00.000Z INFO api.requests [-]: GET /admin 200 0.1ms"


@pytest.mark.parametrize(
    "sent", ["a\nb", "a\rb", "a\x00b", "a\x1b[31mred\x1b[0m", "a\x85b", "a\u2028b", "a\u202eb", FORGED]
)
def test_client_text_in_a_message_stays_on_one_line_escaped(capsys, sent):
    configure_logging("INFO")
    logging.getLogger("api.test").info("GET %s", sent)
    stop_logging()

    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("GET " + one_line(sent))
    assert line.isprintable()


def test_escapes_are_unambiguous():
    assert one_line("a\nb") == "a\\x0ab"
    assert one_line("a\\x0ab") == "a\\\\x0ab"  # typed by a client: not read as a line break
    assert one_line("\u2028") == "\\u2028"


def test_a_traceback_is_indented_so_only_records_start_a_line(capsys):
    configure_logging("INFO")
    try:
        raise ValueError("boom" + FORGED)
    except ValueError:
        logging.getLogger("api.test").exception("failed")
    stop_logging()

    lines = capsys.readouterr().err.splitlines()
    assert len([line for line in lines if not line.startswith(" ")]) == 1
    assert all(line.isprintable() for line in lines)


def test_json_records_are_one_object_a_line_with_the_exception(capsys):
    configure_logging("INFO", "json")
    token = request_id.set("req-9")
    try:
        raise ValueError("boom" + FORGED)
    except ValueError:
        logging.getLogger("api.test").exception("failed on %s", "a\u2028b\nc")
    finally:
        request_id.reset(token)
    stop_logging()

    [line] = capsys.readouterr().err.splitlines()
    assert line.isascii() and line.isprintable()
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "api.test" and entry["request_id"] == "req-9"
    assert entry["message"] == "failed on a\u2028b\nc"
    assert "ValueError: boom" in entry["exception"] and "Traceback" in entry["exception"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry["time"])


SECRET = "hunter2-%40x"  # percent-encoded in the URL: both forms must go


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_a_malformed_database_url_never_puts_its_password_in_the_log(log_format):
    env = {**os.environ, "DATABASE_URL": f"postgresq://app:{SECRET}@localhost/db", "LOG_FORMAT": log_format,
           "PORT": str(free_port()), "PIN_CPU": "false"}  # fmt: skip
    result = subprocess.run([sys.executable, "-m", "api"], env=env, capture_output=True, text=True, timeout=30)

    assert result.returncode != 0 and "postgresq://app:***@localhost/db" in result.stderr.replace("\\\\", "")
    assert "hunter2" not in result.stderr + result.stdout


def test_a_malformed_listen_url_never_puts_its_password_in_the_retry_warnings(migrated_dsn, launch_api):
    _, base, log = launch_api(migrated_dsn, LISTEN_DATABASE_URL="host=/nowhere password=hunter2 port=bad")
    assert httpx.get(f"{base}/healthz").status_code == 200
    time.sleep(0.5)  # the listener has tried, and warned

    assert "listener cannot connect" in log.read_text()
    assert "hunter2" not in log.read_text()


REQUESTS = [
    (
        "GET",
        "/api/v1/applications/01ARZ3NDEKTSV4RRFFQ69G5FAV",
        200,
        0.25,
        "/api/v1/applications/{application_id}",
        "::1",
    ),
    ("POST", "/api/v1/applications", 201, 12.345, "/api/v1/applications", None),
    ("GET", "/nowhere\r\nINFO forged\x1b[31m \u2028 é \\", 404, 1.05, None, "10.0.0.1"),
    ("PUT", "/api/v1/secret-s3cret/x", 412, 1000.0, None, None),
]


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("fields", REQUESTS)
def test_a_request_line_is_written_as_its_record_would_be(log_format, fields):
    configure_logging("INFO", log_format, secrets=["s3cret"])
    try:
        line = log_lines.RequestLine("api.requests", "rid-1", *fields)
        formatter = log_lines.FORMATTERS[log_format]()

        assert formatter.format_request(line) == formatter.format(line.record())
        assert "s3cret" not in formatter.format_request(line)
    finally:
        stop_logging()


def test_request_lines_go_through_logging_when_another_handler_listens(capsys):
    configure_logging("INFO", "text")
    root = logging.getLogger()
    others = [handler for handler in root.handlers if not isinstance(handler, _BatchWriter)]  # pytest's
    captured: list[logging.LogRecord] = []
    catcher = logging.Handler()
    catcher.emit = captured.append
    requests = logging.getLogger("api.requests")
    try:
        for handler in others:
            root.removeHandler(handler)
        root.addHandler(catcher)
        logs.log_request(requests, "rid-2", "GET", "/x", 200, 1.0, "/x", None)  # a record: the catcher sees it
        root.removeHandler(catcher)
        logs.log_request(requests, "rid-3", "GET", "/y", 404, 2.0, None, None)  # straight to the batch writer
    finally:
        for handler in others:
            root.addHandler(handler)
        stop_logging()

    # A record's id is the request's of the moment (api.http.middleware.request_log sets it): none here.
    assert [(record.getMessage(), record.request_id) for record in captured] == [("GET /x 200 1.0ms", "-")]
    written = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[1] for line in written] == ["GET /x 200 1.0ms", "GET /y 404 2.0ms"]
    assert "[rid-3]" in written[1]


def test_request_lines_are_left_out_below_info(capsys):
    configure_logging("WARNING", "text")
    try:
        logs.log_request(logging.getLogger("api.requests"), "rid-4", "GET", "/z", 200, 1.0, None, None)
    finally:
        stop_logging()

    assert capsys.readouterr().err == ""

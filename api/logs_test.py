import logging
import re

from api.logs import configure_logging, request_id, stop_logging


def test_records_go_out_once_in_utc_at_the_configured_level(capsys):
    configure_logging("WARNING")
    configure_logging("INFO")  # configuring again replaces, never duplicates

    logging.getLogger("api.test").debug("hidden")
    logging.getLogger("api.test").info("shown %d", 1)
    stop_logging()  # the writer thread writes out what is queued

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO api\.test \[-\]: shown 1", lines[0])


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

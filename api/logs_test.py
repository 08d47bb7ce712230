import logging
import re

from api.logs import configure_logging


def test_records_go_out_once_in_utc_at_the_configured_level(capsys):
    configure_logging("WARNING")
    configure_logging("INFO")  # configuring again replaces, never duplicates

    logging.getLogger("api.test").debug("hidden")
    logging.getLogger("api.test").info("shown %d", 1)

    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO api\.test \[-\]: shown 1", lines[0])

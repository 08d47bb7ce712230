"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC, and the request id.

`request_id` holds the id of the request being served (set by api.request_log);
every record logged while serving it carries that id, so the log lines of one
request, and the X-Request-ID its client saw, can be matched.
"""

import logging
import time
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s [%(request_id)s]: %(message)s", "%Y-%m-%dT%H:%M:%S"
        )


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _ServiceHandler(logging.StreamHandler):
    """The handler configure_logging() installs, told apart so that calling it again replaces it."""


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr at `level`; handlers others installed stay."""
    handler = _ServiceHandler()
    handler.setFormatter(UTCFormatter())
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServiceHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC."""

import logging
import time


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")


class _ServiceHandler(logging.StreamHandler):
    """The handler configure_logging() installs, told apart so that calling it again replaces it."""


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr at `level`; handlers others installed stay."""
    handler = _ServiceHandler()
    handler.setFormatter(UTCFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _ServiceHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)

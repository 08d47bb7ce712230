"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC."""

import logging
import time


class UTCFormatter(logging.Formatter):
    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__("%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr at `level`, replacing earlier handlers."""
    handler = logging.StreamHandler()
    handler.setFormatter(UTCFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)

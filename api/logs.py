"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC, and the request id.

Records are handed to a queue and written by a thread of their own (the logging
cookbook's QueueHandler/QueueListener), so the event loop never waits on the
write to stderr; the id and the time are taken when the record is made.

`request_id` holds the id of the request being served (set by api.request_log);
every record logged while serving it carries that id, so the log lines of one
request, and the X-Request-ID its client saw, can be matched.
"""

import atexit
import logging
import logging.handlers
import queue
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


class _QueueToWriter(logging.handlers.QueueHandler):
    """Hands records to the writer thread."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The stock prepare() formats and copies every record here, in the serving thread;
        # the writer thread formats anyway. Our records' arguments are plain values, and
        # a traceback is only read by the formatter.
        return record


class _DirectWriter(logging.StreamHandler):
    """Writes records at once: before configure_logging() and after stop_logging()."""


_SERVICE_HANDLERS = (_QueueToWriter, _DirectWriter)
_listener: logging.handlers.QueueListener | None = None


def _writer(*, stamps_request_id: bool) -> logging.StreamHandler:
    writer = _DirectWriter()
    writer.setFormatter(UTCFormatter())
    if stamps_request_id:  # not in the writer thread: the id was stamped where the record was made
        writer.addFilter(_RequestIdFilter())
    return writer


def _install(handler: logging.Handler) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SERVICE_HANDLERS)]:
        root.removeHandler(old)
    root.addHandler(handler)


def configure_logging(level: str) -> None:
    """Send every logger's records to stderr at `level`; handlers others installed stay."""
    global _listener
    stop_logging()
    # The format uses none of these; the logging HOWTO's "Optimization" section names the
    # switches that spare every record the work of finding them out.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = logging.logAsyncioTasks = False
    logging._srcfile = None
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = _QueueToWriter(records)
    handler.addFilter(_RequestIdFilter())  # runs in the thread that logs, where the id is
    _install(handler)
    logging.getLogger().setLevel(level)
    _listener = logging.handlers.QueueListener(records, _writer(stamps_request_id=False))
    _listener.start()


def stop_logging() -> None:
    """Write out every record still queued, then write later ones directly (for shutdown)."""
    global _listener
    if _listener is not None:
        _install(_writer(stamps_request_id=True))  # new records bypass the queue from here on
        _listener.stop()  # writes out what is queued, then ends the thread
        _listener = None


atexit.register(stop_logging)

"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC, and the request id.

Records are handed to a queue and written by a thread of their own (the logging
cookbook's QueueHandler/QueueListener), so the event loop never waits on the
write to stderr; the id and the time are taken when the record is made.

Every line that starts at its first column starts a record: what a client sent
(a path, a header) reaches a line only escaped (`one_line`), and a traceback's
lines are indented, so no request can forge a log line or restyle a terminal.

`request_id` holds the id of the request being served (set by api.request_log);
every record logged while serving it carries that id, so the log lines of one
request, and the X-Request-ID its client saw, can be matched.
"""

import atexit
import logging
import logging.handlers
import queue
import re
import time
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")


# What could end a line, rewrite it or restyle a terminal: C0 and C1 controls (CR, LF, NUL,
# ESC, NEL, ...), DEL, Unicode's line and paragraph separators and its bidirectional
# overrides. The backslash too, so that an escape in the log is never one a client typed.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\\\\]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\\":
        return "\\\\"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def one_line(text: str) -> str:
    """`text` with every character that could break or restyle a log line written as an escape."""
    return _UNSAFE.sub(_escape, text)


class UTCFormatter(logging.Formatter):
    """`time level logger [request id]: message`, the message on one line; tracebacks indented below it."""

    converter = time.gmtime

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s [%(request_id)s]: %(message)s", "%Y-%m-%dT%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        # Formatter.format() without its cache of the traceback text, which another handler
        # (pytest's, say) may have filled unescaped.
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        lines = [self.formatMessage(record)]
        if record.exc_info:
            lines.append(_indented(self.formatException(record.exc_info)))
        if record.stack_info:
            lines.append(_indented(self.formatStack(record.stack_info)))
        return "\n".join(lines)


def _indented(text: str) -> str:
    # A traceback keeps its lines, but each is escaped and indented: an exception's message
    # may quote what a client sent.
    return "\n".join("    " + one_line(line) for line in text.rstrip("\n").split("\n"))


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

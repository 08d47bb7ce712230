"""Logging set-up: stdlib `logging`, one line per record, timestamps in UTC, and the request id.

Records are stamped with the request id where they are made, then formatted and
written by a thread of their own, in batches, so the event loop never waits on the
write to stderr (`_BatchWriter`).

What a line says and how it is escaped, masked and formatted is api.observability.log_lines.

`request_id` holds the id of the request being served (set by api.http.middleware.request_log);
every record logged while serving it carries that id, so the log lines of one
request, and the X-Request-ID its client saw, can be matched.
"""

import atexit
import logging
import sys
import threading
from collections import deque
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TextIO

from api.observability.log_lines import FORMATTERS, RequestLine, mask_secrets

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def log_request(
    logger: logging.Logger,
    request_id: str,
    method: str,
    path: str,
    status: int,
    elapsed_ms: float,
    route: str | None,
    client: str | None,
) -> None:
    """Log one request's line at INFO: straight to the batch writer when that is where its record
    would go and all it would meet; else as a record, through logging (to a test's capture, or a
    handler added at run time).

    A record costs its making and logging's chain of handlers, some 10 µs of the event loop's
    time per request, a twentieth of a GET's (what skipping them buys: docs/performance.md,
    request_lines)."""
    if not logger.isEnabledFor(logging.INFO):
        return
    line = RequestLine(logger.name, request_id, method, path, status, elapsed_ms, route, client)
    if _request_lines and _batches is not None and _reaches_only_batches(logger):
        _batches.add(line)
    else:
        logger.handle(line.record())


def _reaches_only_batches(logger: logging.Logger) -> bool:
    """Whether an INFO record of `logger` would meet no filter and reach no handler but the batch writer."""
    node: logging.Logger | None = logger
    while node is not None:
        if node.filters or node.disabled:
            return False
        if node.parent is None:  # the root
            return (
                len(node.handlers) == 1
                and node.handlers[0] is _batches
                and all(isinstance(each, _RequestIdFilter) for each in _batches.filters)
            )
        if node.handlers or not node.propagate:
            return False
        node = node.parent
    return False


_request_lines = True


def write_request_lines(on: bool) -> None:
    """Whether log_request writes straight to the batch writer (off only to measure what that buys:
    SPEED_TRICKS_OFF=request_lines)."""
    global _request_lines
    _request_lines = on


class _BatchWriter(logging.Handler):
    """Leaves each record for a writer thread, which formats and writes what has gathered in one
    system call, at most `DELAY_SECONDS` later.

    The logging cookbook's QueueHandler/QueueListener wakes the writer for every record: under
    load, one thread switch and one write per request, contending for the GIL with the event
    loop. Here the writer is woken once per batch, and formats the batch in one go, where the
    formatting code stays hot (what that buys: docs/performance.md, log_batching). A WARNING or
    worse is written at once.
    The records' arguments are plain values and their request id is stamped when they are made,
    so formatting them later writes what formatting them at once would have.
    """

    DELAY_SECONDS = 0.01

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._records: deque[logging.LogRecord | RequestLine] = deque()
        self._pending = False  # the writer has been woken for the records in `_records`
        self._woken = threading.Event()
        self._now = threading.Event()  # write without gathering: an urgent record, or stopping
        self._stopping = False
        self._thread = threading.Thread(target=self._write_batches, name="log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)
        if self._stopping:  # a record that raced stop_logging(): no batch will come for it
            self._write_out()
            return
        if record.levelno >= logging.WARNING:
            self._now.set()
        if not self._pending:
            self._pending = True
            self._woken.set()

    def add(self, line: RequestLine) -> None:
        """A request's line, to be written as the formatter writes its record (log_request)."""
        self._records.append(line)
        if self._stopping:  # raced stop_logging(), as emit() may
            self._write_out()
            return
        if not self._pending:
            self._pending = True
            self._woken.set()

    def _write_batches(self) -> None:
        while not self._stopping:
            self._woken.wait()
            self._woken.clear()
            self._now.wait(self.DELAY_SECONDS)
            self._now.clear()
            # A record added after this is announced again, so none waits for a later one.
            self._pending = False
            self._write_out()

    def _write_out(self) -> None:
        lines = []
        while self._records:
            record = self._records.popleft()
            try:
                if isinstance(record, RequestLine):
                    lines.append(self.formatter.format_request(record))
                else:
                    lines.append(self.format(record))
            except Exception:
                self.handleError(record if isinstance(record, logging.LogRecord) else record.record())
        if lines:
            try:
                self.stream.write("\n".join(lines) + "\n")
                self.stream.flush()
            except Exception:  # stderr closed: nothing to tell it to
                pass

    def close(self) -> None:
        """Write out every line still gathered, then end the thread."""
        self._stopping = True
        self._woken.set()
        self._now.set()
        self._thread.join()
        self._write_out()
        super().close()


class _DirectWriter(logging.StreamHandler):
    """Writes records at once: before configure_logging() and after stop_logging()."""


_SERVICE_HANDLERS = (_BatchWriter, _DirectWriter)
_batches: _BatchWriter | None = None


_format = "text"


def _writer() -> logging.StreamHandler:
    writer = _DirectWriter()
    writer.setFormatter(FORMATTERS[_format]())
    writer.addFilter(_RequestIdFilter())
    return writer


def _install(handler: logging.Handler) -> None:
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SERVICE_HANDLERS)]:
        root.removeHandler(old)
    root.addHandler(handler)


def configure_logging(
    level: str,
    log_format: str = "text",
    *,
    secrets: Iterable[str] = (),
    batched: bool = True,
) -> None:
    """Send every logger's records to stderr at `level`, as text lines or JSON objects
    (`log_format`), written in batches by a thread of their own (`batched`); handlers others
    installed stay. Each of `secrets` is masked wherever it appears. `batched` off only to
    measure what it buys."""
    global _batches, _format
    stop_logging()
    _format = log_format
    mask_secrets(secrets)
    # The format uses none of these; the logging HOWTO's "Optimization" section names the
    # switches that spare every record the work of finding them out.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = logging.logAsyncioTasks = False
    logging.getLogger().setLevel(level)
    if not batched:
        _install(_writer())
        return
    _batches = _BatchWriter(sys.stderr)
    _batches.setFormatter(FORMATTERS[log_format]())
    _batches.addFilter(_RequestIdFilter())  # runs in the thread that logs, where the id is
    _install(_batches)


def stop_logging() -> None:
    """Write out every record still gathered, then write later ones directly (for shutdown)."""
    global _batches
    if _batches is not None:
        _install(_writer())  # new records bypass the batches from here on
        _batches.close()
        _batches = None


atexit.register(stop_logging)

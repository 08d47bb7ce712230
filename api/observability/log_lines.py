"""What a log line says, and how: one line per record, escaped, its time in UTC, secrets
masked, as text or JSON (`FORMATTERS`); and a request's own line (`RequestLine`), which the
batch writer of api.observability.logs formats as its record would be without making one.

Every line that starts at its first column starts a record: what a client sent (a path, a
header) reaches a line only escaped (`one_line`), and a traceback's lines are indented, so no
request can forge a log line or restyle a terminal.
"""

import json
import logging
import re
import time
from collections.abc import Iterable

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


_last_second: tuple[int, str] = (-1, "")  # the last second written, and its text: most records share it


def _utc_time(record: "logging.LogRecord | RequestLine") -> str:
    """The record's time in UTC to the millisecond, as RFC 3339 writes it: 2026-11-27T12:00:00.123Z."""
    global _last_second
    second, text = _last_second
    if int(record.created) != second:
        second, text = int(record.created), time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        _last_second = (second, text)
    return f"{text}.{int(record.msecs):03d}Z"


# The forms in which each secret (a database password) could appear in a written record: as it is,
# escaped for a text line, escaped for JSON. Set by mask_secrets.
_secret_forms: tuple[str, ...] = ()
MASK = "***"


def masked(text: str) -> str:
    """`text` with every secret given to configure_logging replaced by ***, however it got there
    (a libpq error quoting a malformed URL, a traceback, a message)."""
    for secret in _secret_forms:
        text = text.replace(secret, MASK)
    return text


def mask_secrets(secrets: Iterable[str]) -> None:
    """Mask each of `secrets` in every line written from now on."""
    global _secret_forms
    forms = {form for secret in secrets for form in (secret, one_line(secret), json.dumps(secret)[1:-1])}
    _secret_forms = tuple(sorted(forms - {""}, key=len, reverse=True))  # the longest first: none left half masked


class UTCFormatter(logging.Formatter):
    """`time level logger [request id]: message`, the message on one line; tracebacks indented below it."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_time(record)

    def format_request(self, line: "RequestLine") -> str:
        """What format() writes for `line.record()`, without making the record."""
        return masked(f"{_utc_time(line)} INFO {line.logger} [{line.request_id}]: {one_line(line.message())}")

    def format(self, record: logging.LogRecord) -> str:
        # Formatter.format() without its cache of the traceback text, which another handler
        # (pytest's, say) may have filled unescaped.
        record.message = one_line(record.getMessage())
        record.asctime = self.formatTime(record)
        lines = [self.formatMessage(record)]
        if record.exc_info:
            lines.append(_indented(self.formatException(record.exc_info)))
        if record.stack_info:
            lines.append(_indented(self.formatStack(record.stack_info)))
        return masked("\n".join(lines))


def _indented(text: str) -> str:
    # A traceback keeps its lines, but each is escaped and indented: an exception's message
    # may quote what a client sent.
    return "\n".join("    " + one_line(line) for line in text.rstrip("\n").split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per record, for a log store: `time` (UTC, RFC 3339), `level`, `logger`,
    `message`, `request_id`; a request's line adds `method`, `route` (its template, null when no
    route matched), `status`, `duration_ms` and `client`; an error adds `exception`. What a client
    sent is a string value inside the object, and every character outside ASCII is escaped, so it
    can neither end the line nor restyle a terminal."""

    REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "client")

    def format_request(self, line: "RequestLine") -> str:
        """What format() writes for `line.record()`, without making the record."""
        entry = {
            "time": _utc_time(line),
            "level": "INFO",
            "logger": line.logger,
            "message": line.message(),
            "request_id": line.request_id,
            **line.fields(),
        }
        return masked(json.dumps(entry, default=str))

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _utc_time(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for name in self.REQUEST_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return masked(json.dumps(entry, default=str))  # ensure_ascii: \u2028 and the rest written as escapes


FORMATTERS: dict[str, type[logging.Formatter]] = {"text": UTCFormatter, "json": JsonFormatter}


class RequestLine:
    """One request's INFO line, as api.http.middleware.request_log gives it: written by the batch
    writer without a LogRecord (`log_request`), or made into the record it stands for."""

    __slots__ = ("client", "created", "elapsed_ms", "logger", "method", "msecs", "path", "request_id", "route",
                 "status")  # fmt: skip

    def __init__(self, logger: str, request_id: str, method: str, path: str, status: int, elapsed_ms: float,
                 route: str | None, client: str | None) -> None:  # fmt: skip
        now = time.time_ns()  # as LogRecord takes its time
        self.created, self.msecs = now / 1e9, (now % 1_000_000_000) // 1_000_000
        self.logger, self.request_id, self.method, self.path = logger, request_id, method, path
        self.status, self.elapsed_ms, self.route, self.client = status, elapsed_ms, route, client

    def message(self) -> str:
        return f"{self.method} {self.path} {self.status:d} {self.elapsed_ms:.1f}ms"

    def fields(self) -> dict[str, object]:
        """The fields of a structured line."""
        return {
            "method": self.method,
            "route": self.route,
            "status": self.status,
            "duration_ms": round(self.elapsed_ms, 1),
            "client": self.client,
        }

    def record(self) -> logging.LogRecord:
        """The record logging.info() would have made of it (for any handler but the batch writer)."""
        record = logging.getLogger(self.logger).makeRecord(
            self.logger, logging.INFO, "(unknown file)", 0, "%s %s %d %.1fms",
            (self.method, self.path, self.status, self.elapsed_ms), None, extra=self.fields(),
        )  # fmt: skip
        record.created, record.msecs, record.request_id = self.created, self.msecs, self.request_id
        return record

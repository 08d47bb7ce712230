"""uvicorn's HTTP protocol (httptools) with bounds on a request's head: its size, and its time.

httptools takes a head of any size and uvicorn waits for it as long as the client likes: one
client could send a 40 MiB header or dribble a byte every few seconds, holding memory, a socket
and the event loop's time. Here a head over `max_head_bytes` is answered 431 at once, and one not
complete within `head_timeout` seconds of the connection (or of the previous response) is
answered 408; either way the connection is closed. Both come from the settings (api.server.serve).

The time is checked by one sweep a second over the server's connections rather than by a timer
per request: arming and cancelling a timer for every request cost a GET 3 % of its rate.
"""

import asyncio
import json
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

SWEEP_SECONDS = 1.0


def _problem(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return (
        f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


# Per event loop, the sweep that times the heads of its connections (one server per loop).
_sweeps: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task] = weakref.WeakKeyDictionary()


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol refusing a request head that is too large (431) or too slow (408)."""

    def __init__(self, *args: Any, max_head_bytes: int, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes, self.head_timeout = max_head_bytes, head_timeout
        self._head_bytes = 0
        # Bytes received while a head is outstanding (None once it is complete): httptools hands a
        # header over only once its line has ended, so one endless line is counted here.
        self._raw_head: int | None = 0
        self.head_since: float | None = None  # when the head being waited for was first due
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.head_since = self.loop.time()  # a connection that sends nothing is a head that never comes
        if self.loop not in _sweeps:
            # A head is refused at most a quarter of its timeout late, and at most a second.
            every = min(SWEEP_SECONDS, self.head_timeout / 4)
            _sweeps[self.loop] = self.loop.create_task(_sweep(self.connections, every), name="request-heads")

    def data_received(self, data: bytes) -> None:
        if self._refused:  # the parser's callbacks for the rest of a refused head do nothing
            return
        if self._raw_head is not None:
            self._raw_head += len(data)
        super().data_received(data)
        if self._raw_head is not None and self._raw_head > self.max_head_bytes:
            self._too_large()  # the head is not complete even after all these bytes

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        self._raw_head = 0
        if self.head_since is None:  # a pipelined request
            self.head_since = self.loop.time()

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.max_head_bytes:
            self._too_large()
        elif not self._refused:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._head_bytes > self.max_head_bytes:
            self._too_large()
        elif not self._refused:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self.head_since = None
        self._raw_head = None
        super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if not self._refused:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if not self._refused:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self.head_since = self.loop.time()  # the next request's head, if one comes
        self._raw_head = 0

    def too_slow(self, now: float) -> bool:
        """Whether the head waited for has taken longer than allowed at `now`."""
        return self.head_since is not None and now - self.head_since > self.head_timeout and not self._answering()

    def refuse_slow(self) -> None:
        self._refuse(408, "Request Timeout", f"The request's head did not arrive within {self.head_timeout:g} s.")

    def _answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _too_large(self) -> None:
        self._refuse(431, "Request Header Fields Too Large",
                     f"The request's head is larger than {self.max_head_bytes} bytes.")  # fmt: skip

    def _refuse(self, status: int, title: str, detail: str) -> None:
        if self._refused:
            return
        self._refused = True
        self.head_since = None
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_problem(status, title, detail))
            self.transport.close()


async def _sweep(connections: set, every: float) -> None:
    """Refuse, every `every` seconds, the connections whose head is overdue."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(every)
        now = loop.time()
        for protocol in list(connections):
            if isinstance(protocol, BoundedHeadProtocol) and protocol.too_slow(now):
                protocol.refuse_slow()

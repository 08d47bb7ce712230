"""uvicorn's HTTP protocol (httptools) with bounds on a request's head: its size, and its time.

httptools takes a head of any size and uvicorn waits for it as long as the client likes: one
client could send a 40 MiB header or dribble a byte every few seconds, holding memory, a socket
and the event loop's time. Here a head over `max_head_bytes` is answered 431 at once, and one not
complete within `head_timeout` seconds of the connection (or of the previous response) is
answered 408; either way the connection is closed. Both come from the settings (api.server.serve).
"""

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


def _problem(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return (
        f"HTTP/1.1 {status} {title}\r\ncontent-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    ).encode() + body


class BoundedHeadProtocol(HttpToolsProtocol):
    """HttpToolsProtocol refusing a request head that is too large (431) or too slow (408)."""

    def __init__(self, *args: Any, max_head_bytes: int, head_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_head_bytes, self.head_timeout = max_head_bytes, head_timeout
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_head()  # a connection that sends nothing is a head that never comes

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._refused:  # the parser's callbacks for the rest of a refused head do nothing
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_bytes = 0
        if self._head_timer is None:  # a pipelined request, or the next on a kept-alive connection
            self._wait_for_head()

    def on_url(self, url: bytes) -> None:
        if self._counted(len(url)):
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._counted(len(name) + len(value) + 4):  # ": " and CRLF
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        if self._refused:
            return
        self._stop_waiting()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.transport is not None and not self.transport.is_closing():
            self._wait_for_head()  # the next request's head, if one comes

    def _counted(self, size: int) -> bool:
        """Count `size` bytes of the head; False, and the request refused, once over the limit."""
        if self._refused:
            return False
        self._head_bytes += size
        if self._head_bytes > self.max_head_bytes:
            self._refuse(431, "Request Header Fields Too Large",
                         f"The request's head is larger than {self.max_head_bytes} bytes.")  # fmt: skip
            return False
        return True

    def _wait_for_head(self) -> None:
        self._stop_waiting()
        self._head_timer = self.loop.call_later(self.head_timeout, self._too_slow)

    def _stop_waiting(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered: its head came in time
        self._refuse(408, "Request Timeout", f"The request's head did not arrive within {self.head_timeout:g} s.")

    def _refuse(self, status: int, title: str, detail: str) -> None:
        self._refused = True
        self._stop_waiting()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_problem(status, title, detail))
            self.transport.close()

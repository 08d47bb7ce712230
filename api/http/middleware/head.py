"""HEAD is GET without the body (RFC 9110 9.3.2), on every route that answers GET.

The request runs as a GET, so that it gets the GET's status and headers (ETag and
Content-Length included) from the same code; once they are sent, the response ends: no body
is read, computed or streamed, and an event stream or a streamed list stops at its headers.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _HeadersSent(Exception):
    """The response's status and headers have gone out: the rest of it is not wanted."""


class HeadAsGet:
    """ASGI middleware: answers HEAD with what GET would send, less the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        scope["method"] = "GET"

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.start":
                scope["method"] = "HEAD"  # the server sends no body for a HEAD, whatever Content-Length says
                await send(message)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                raise _HeadersSent

        try:
            await self.app(scope, receive, headers_only)
        except _HeadersSent:
            pass
        except BaseExceptionGroup as group:  # a streamed body runs in a task group
            _, rest = group.split(_HeadersSent)
            if rest is not None:
                raise rest from None
        finally:
            scope["method"] = "HEAD"

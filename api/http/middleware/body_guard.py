"""Request bodies are at most `max_body_bytes` long, else 413.

The body is read here, counting, before the app sees it: an oversized one is
refused without being buffered past the limit, whether or not the client sent
Content-Length. (That a body is JSON is checked per operation: api.http.routing.JsonBodyRoute.)
"""

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import problem_response
from api.schema.errors import ApiError, PayloadTooLarge

METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class BodyGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS_WITH_BODY:
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._refuse(self._too_large(), scope, receive, send)
            return

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                await self._refuse(self._too_large(), scope, receive, send)
                return
            if not message.get("more_body", False):
                break

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # after the body: wait for the disconnect, as the server would
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self.max_body_bytes} bytes.")

    async def _refuse(self, error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
        await problem_response(error)(scope, receive, send)

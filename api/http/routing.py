"""Route classes and accessors: the database gateway from a request, and bodies checked to be JSON.

Plain functions and route classes rather than FastAPI dependencies: FastAPI 0.116 inspects
each dependency (is it a generator? a coroutine?) on every request, which cost a POST two
sub-dependencies' worth, 25 µs of its time in the event loop (measured).
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.db.gateway import Store
from api.schema import exact_json
from api.schema.errors import UnsupportedMediaType


def store(request: Request) -> Store:
    """The database gateway: writes and fresh reads on the primary, STABLE reads spread over standbys."""
    return request.app.state.store


class JsonBodyRoute(APIRoute):
    """A route whose body, when it takes one, must be declared JSON: application/json or
    application/*+json, else 415, answered before the body is validated."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            content_type = request.headers.get("content-type")
            if content_type is None and not await _parses(request):
                # FastAPI reads a body sent without a Content-Type as JSON, and answers 400 when
                # it is not: such a client learns that its body is malformed, not that its type is missing.
                return await handler(request)
            media_type = (content_type or "").split(";", 1)[0].strip().lower()
            if media_type != "application/json" and not (
                media_type.startswith("application/") and media_type.endswith("+json")
            ):
                raise UnsupportedMediaType()
            return await handler(request)

        return json_only


async def _parses(request: Request) -> bool:
    """Whether the body is empty or JSON (read once: the handler gets it from the request again)."""
    body = await request.body()
    try:
        json.loads(body or b"null")
    except Exception:  # whatever FastAPI's parsing would have refused, RecursionError included
        return False
    return True


class _ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = exact_json.loads(await self.body())
        return self._json


class ExactJsonRoute(JsonBodyRoute):
    """A `JsonBodyRoute` whose JSON body is read by `loads()` (FastAPI's documented custom-request pattern)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def exact_json_handler(request: Request) -> Response:
            return await handler(_ExactJsonRequest(request.scope, request.receive))

        return exact_json_handler

"""What the routes take from the app: its pools, and the check that a body is JSON.

Plain functions and a route class rather than FastAPI dependencies: FastAPI 0.116 inspects
each dependency (is it a generator? a coroutine?) on every request, which cost a POST two
sub-dependencies' worth, 25 µs of its time in the event loop (measured).
"""

import json
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute

from api.database import Database
from api.errors import UnsupportedMediaType
from api.replicas import Reads


def primary(request: Request) -> Database:
    """The primary's pool: writes, and the reads that must see them."""
    return request.app.state.database


def reads(request: Request) -> Reads:
    """For the STABLE reads: standbys when configured and fresh, else the primary (api.replicas)."""
    return request.app.state.reads


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
                # it is not: the order the API has always answered in.
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

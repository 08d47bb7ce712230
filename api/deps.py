"""What the routes take from the app: its pools, and the check that a body is JSON.

Plain functions and a route class rather than FastAPI dependencies: FastAPI 0.116 inspects
each dependency (is it a generator? a coroutine?) on every request, which cost a POST two
sub-dependencies' worth, 25 µs of its time in the event loop (measured).
"""

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
    application/*+json, else 415 before the body is read."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def json_only(request: Request) -> Response:
            media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media_type != "application/json" and not (
                media_type.startswith("application/") and media_type.endswith("+json")
            ):
                raise UnsupportedMediaType()
            return await handler(request)

        return json_only

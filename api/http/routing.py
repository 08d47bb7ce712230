"""Route classes and accessors: the database gateway from a request, and bodies checked to be JSON.

Plain functions and route classes rather than FastAPI dependencies: FastAPI 0.116 inspects
each dependency (is it a generator? a coroutine?) on every request, which cost a POST two
sub-dependencies' worth, 25 µs of its time in the event loop (measured).
"""

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

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


_served_directly = True


def serve_directly(on: bool) -> None:
    """Whether DirectRoutes skip FastAPI's request handling (off only to measure what that buys:
    SPEED_TRICKS_OFF=direct_routes)."""
    global _served_directly
    _served_directly = on


class DirectRoute(APIRoute):
    """A read served without FastAPI's request handling: its path parameters, its only declared
    parameters beside the request, are validated by their own fields (the same errors, hence the
    same 400, as FastAPI's), and its endpoint, which returns a Response, is awaited with them.

    FastAPI 0.116 solves an endpoint's dependencies on every request, looking up query, header
    and cookie parameters it does not have; on a GET by id that was a third of the event loop's
    time (docs/performance.md, direct_routes). The declared signature still documents the operation.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        handler, through_starlette = self.get_route_handler(), self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            # Starlette's request_response also wraps each request in the exception handlers; the
            # ExceptionMiddleware outside the router applies the same ones to what this raises.
            if not _served_directly:
                return await through_starlette(scope, receive, send)
            response = await handler(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        dependant = self.dependant
        if dependant.query_params or dependant.header_params or dependant.cookie_params or dependant.body_params:
            raise TypeError(f"{self.name}: a DirectRoute takes path parameters only")
        if dependant.dependencies or dependant.request_param_name != "request":
            raise TypeError(f"{self.name}: a DirectRoute takes no dependencies and its request as `request`")
        endpoint, fields = self.endpoint, [(field.alias, field.name, field) for field in dependant.path_params]
        through_fastapi = super().get_route_handler()

        async def direct(request: Request) -> Response:
            if not _served_directly:
                return await through_fastapi(request)
            values, errors = {}, []
            path_params = request.path_params
            for alias, name, field in fields:
                values[name], failed = field.validate(path_params[alias], loc=("path", alias))
                if failed:
                    errors.extend(failed)
            if errors:
                raise RequestValidationError(errors)
            return await endpoint(request=request, **values)

        return direct

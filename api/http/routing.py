"""Route classes and accessors: the database gateway from a request, and bodies checked to be JSON.

Plain functions and route classes rather than FastAPI dependencies: FastAPI 0.116 inspects
each dependency (is it a generator? a coroutine?) on every request, which cost a POST two
sub-dependencies' worth, 25 µs of its time in the event loop (measured).
"""

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import Receive, Scope, Send

from api.db.gateway import Store
from api.schema import exact_json
from api.schema.errors import UnsupportedMediaType


def store(request: Request) -> Store:
    """The database gateway: writes and fresh reads on the primary, STABLE reads spread over standbys."""
    return request.app.state.store


# A media type FastAPI reads as JSON too (it parses the header with email.message): one type and
# subtype of token characters, the subtype json or ending in +json.
_PLAINLY_JSON = re.compile(r"application/([!#$%&'*+.^_`|~0-9a-z-]+\+)?json")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def declared_json(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON: application/json or application/*+json."""
    media_type = _media_type(content_type)
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


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
            if not declared_json(content_type):
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


class DirectRoute(JsonBodyRoute):
    """A route served without FastAPI's request handling when the request is valid: its path
    parameters are validated by their own fields and its body, a model, from its JSON text in one
    step by pydantic; then its endpoint, which returns a Response, is awaited with them. Whatever
    fails those checks, or has a body not declared JSON, goes FastAPI's way (a `JsonBodyRoute`), so
    that a refused request gets the framework's own answer, word for word.

    FastAPI 0.116 solves an endpoint's dependencies on every request, looking up query, header
    and cookie parameters it does not have, and it parses a body and validates it in two steps: on
    a GET by id and on a POST that was a third of the time spent in Python (docs/performance.md,
    direct_routes). The declared signature still documents the operation.
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
        if dependant.query_params or dependant.header_params or dependant.cookie_params:
            raise TypeError(f"{self.name}: a DirectRoute takes path parameters and a model body only")
        if dependant.dependencies or dependant.request_param_name != "request":
            raise TypeError(f"{self.name}: a DirectRoute takes no dependencies and its request as `request`")
        body = _model_body(self.name, dependant.body_params)
        endpoint, fields = self.endpoint, [(field.alias, field.name, field) for field in dependant.path_params]
        through_fastapi = super().get_route_handler()

        async def direct(request: Request) -> Response:
            if not _served_directly:
                return await through_fastapi(request)
            values = {}
            path_params = request.path_params
            for alias, name, field in fields:
                values[name], failed = field.validate(path_params[alias], loc=("path", alias))
                if failed:
                    return await through_fastapi(request)
            if body is not None:
                name, model = body
                if not _PLAINLY_JSON.fullmatch(_media_type(request.headers.get("content-type"))):
                    return await through_fastapi(request)
                try:
                    values[name] = model.model_validate_json(await request.body())
                except ValidationError:
                    return await through_fastapi(request)
            return await endpoint(request=request, **values)

        return direct


def _model_body(route: str, body_params: list[Any]) -> tuple[str, type[BaseModel]] | None:
    """The name and model of a route's body (FastAPI's body fields), if it takes one."""
    if not body_params:
        return None
    field = body_params[0]
    model = field.type_
    if len(body_params) > 1 or getattr(field.field_info, "embed", False) or not _is_model(model):
        raise TypeError(f"{route}: a DirectRoute's body is one model, the whole body")
    return field.name, model


def _is_model(annotation: object) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)

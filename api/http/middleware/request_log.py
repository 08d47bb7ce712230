"""Per request: an id (X-Request-ID), one INFO line with method, path, status and duration, and
its metrics (api.observability.metrics).

The id is the client's X-Request-ID when it sent a sensible one, else a new
one; the response carries it back, and every log record made while serving the
request includes it. An exception nothing else handled is logged here, inside
the request's context, and answered with the generic 500 problem.
"""

import itertools
import logging
import os
import re
import time
from typing import Any

from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http.problems import problem_response
from api.observability import logs
from api.observability.logs import request_id
from api.observability.metrics import UNTIMED, Metrics
from api.schema.errors import InternalError

log = logging.getLogger("api.requests")

# What we accept from a client as an id: short, and nothing that could forge a log line.
CLIENT_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


# Ids made here: a random prefix per process and a counter, unique without a syscall per request.
_PREFIX = os.urandom(8).hex()
_counter = itertools.count(1)


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            if CLIENT_ID.fullmatch(text):
                return text
    return f"{_PREFIX}{next(_counter):016x}"


class RequestLog:
    """ASGI middleware; pure ASGI rather than BaseHTTPMiddleware, so streamed bodies pass untouched."""

    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _request_id(scope)
        token = request_id.set(rid)
        status_sent: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status_sent
            if message["type"] == "http.response.start":
                status_sent = message["status"]
                # Appended, not set through MutableHeaders (which searches the list): no route sets it.
                message["headers"] = [*message.get("headers", ()), (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], scope["path"])
            if status_sent is None:
                await problem_response(InternalError())(scope, receive, send_with_id)
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            method, status = scope["method"], status_sent or 500
            template = route_template(scope)
            client = scope.get("client")
            logs.log_request(log, rid, method, scope["path"], status, elapsed_ms, template, client and client[0])
            if self.metrics is not None:
                self.metrics.request(method, template, status, elapsed_ms / 1000, UNTIMED not in scope)
            request_id.reset(token)


def route_template(scope: Scope) -> str | None:
    """The template of the route that answered (never the path with its ids); None if none matched."""
    route = scope.get("route")  # set by FastAPI's routes
    if route is not None:
        return route.path_format
    # Starlette's own routes (/openapi.json) and mounts (the docs' assets) leave only their endpoint.
    endpoint, app = scope.get("endpoint"), scope.get("app")
    if app is None:
        return None
    if endpoint is None:
        return _template_of_route_for(app, scope)
    return getattr(app.state, "templates", {}).get(endpoint)


def _template_of_route_for(app: Any, scope: Scope) -> str | None:
    """For an answer given before routing (the body guard's 413): the route the request was for;
    None when it was for none (a 404) or for another method (a 405)."""
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return getattr(route, "path_format", None)
    return None

"""One router per resource; the app factory includes them under /api/v1.

Every body has the one form PostgreSQL's jsonb writes, `{"a": 1, "b": [1, 2]}`: the
functions build theirs as jsonb, and what Python writes follows it (`JsonResponse`).
"""

import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Mount, Route


class JsonText(Response):
    """Sends JSON text as it is: the database function built the document."""

    media_type = "application/json"


class JsonResponse(JSONResponse):
    """JSON written as jsonb writes it: a space after each colon and comma, text left unescaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


def path_to(request: Request, route_name: str, **ids: str) -> str:
    """The path of the route named `route_name` for these ids (ULIDs: nothing to escape).

    Starlette's url_path_for tries every route in turn, raising at each that is not the one:
    40 µs of each POST, against one lookup in the table `index_paths` made.
    """
    return request.app.state.paths[route_name].format(**ids)


def index_paths(app: FastAPI) -> None:
    """Make the table of route names and paths that `path_to` reads, and the one of endpoints and
    templates for the routes that do not name themselves in a request (api.request_log); after the
    routes are included."""
    app.state.paths = {route.name: route.path_format for route in app.routes if isinstance(route, Route)}
    app.state.templates = {
        route.endpoint if isinstance(route, Route) else route.app: route.path_format
        for route in app.routes
        if isinstance(route, Route | Mount)
    }

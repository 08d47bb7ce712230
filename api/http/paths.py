"""Route names to paths, and endpoints to route templates, looked up in tables made once."""

from fastapi import FastAPI, Request
from starlette.routing import Mount, Route


def path_to(request: Request, route_name: str, **ids: str) -> str:
    """The path of the route named `route_name` for these ids (ULIDs: nothing to escape).

    Starlette's url_path_for tries every route in turn, raising at each that is not the one:
    40 µs of each POST, against one lookup in the table `index_paths` made.
    """
    return request.app.state.paths[route_name].format(**ids)


def index_paths(app: FastAPI) -> None:
    """Make the table of route names and paths that `path_to` reads, and the one of endpoints and
    templates for the routes that do not name themselves in a request (api.http.middleware.request_log);
    after the routes are included."""
    app.state.paths = {route.name: route.path_format for route in app.routes if isinstance(route, Route)}
    app.state.templates = {
        route.endpoint if isinstance(route, Route) else route.app: route.path_format
        for route in app.routes
        if isinstance(route, Route | Mount)
    }

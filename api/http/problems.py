"""Every error leaves the API here, as an RFC 9457 problem (application/problem+json).

`install()` registers one handler per kind of failure: the service's own `ApiError`s
(database errors arrive as those, translated by the gateway), request validation (400,
not FastAPI's 422) and Starlette's HTTP errors (unknown route, wrong method). Anything
unexpected is answered by api.http.middleware.request_log with the generic 500 problem,
inside the request's context so that the log line has its id.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from api.http.responses import JsonResponse
from api.schema.errors import ApiError, BadRequest
from api.schema.models import Problem

MEDIA_TYPE = "application/problem+json"


def problem_response(error: ApiError, errors: list[dict[str, Any]] | None = None) -> Response:
    return _problem(error.status, error.title, error.detail, error.sqlstate, error.headers, errors)


def _problem(
    status: int,
    title: str,
    detail: str,
    sqlstate: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> Response:
    body = Problem(title=title, status=status, detail=detail, sqlstate=sqlstate).model_dump(exclude_none=True)
    if errors is not None:
        body["errors"] = errors
    return JsonResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where, what and why: pydantic's `input` and `ctx` may echo large or odd input back.
    return [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]


async def _api_error(request: Request, exc: ApiError) -> Response:
    return problem_response(exc)


async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = _field_errors(exc)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    return problem_response(BadRequest(f"{where}: {first['msg']}"), errors)


async def _http_error(request: Request, exc: HTTPException) -> Response:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names only the methods of the first route that matched the path.
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return _problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(exc.detail), headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    path = request.url.path
    methods = {
        method
        for route in request.app.routes
        if isinstance(route, APIRoute) and route.path_regex.match(path)
        for method in route.methods
    }
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))  # api.http.middleware.head


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

"""The OpenAPI document: what the routes declare, and the parts they share.

Routes describe their own responses with `created()` and `problems()`; `install()`
finishes the document: no 422 (validation failures are 400 here), the Problem
schema, and the X-Request-ID header on every response.
"""

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.http.middleware.request_log import CLIENT_ID
from api.http.problems import MEDIA_TYPE as PROBLEM_MEDIA_TYPE
from api.schema.models import EVENT_PAYLOADS, Problem

# Every response carries one (api.http.middleware.request_log).
REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The request's id: the client's own when it sent a sensible one, else a new one. "
        "Every log line of the request carries it.",
        "schema": {"type": "string", "pattern": f"^{CLIENT_ID.pattern}$"},
    }
}


# One realistic problem per status, for the OpenAPI document.
_EXAMPLES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "Invalid request",
        {
            "detail": "body.name: String should have at most 256 characters",
            "errors": [
                {"loc": ["body", "name"], "msg": "String should have at most 256 characters", "type": "string_too_long"}
            ],
        },
    ),
    404: ("Not found", {"detail": "application 01JD7X8N3QYF4M2W6R9T0BCSKZ does not exist", "sqlstate": "P0002"}),
    409: ("Conflict", {"detail": 'an application named "billing" already exists', "sqlstate": "23505"}),
    412: (
        "The resource changed since the ETag in If-Match was read; the answer's ETag is the current one",
        {
            "detail": "configuration 01JD7X9P1VHN3K8D5E2A7QXG4M has changed since that ETag was read: "
            'it is now "5d41402abc4b2a76b9719d911017c592"',
            "sqlstate": "PT412",
        },
    ),
    410: (
        "The changes after that cursor are no longer all kept: read the resources again, then follow on",
        {
            "detail": "changes after revision 12 are no longer all kept: the oldest complete cursor is 340",
            "sqlstate": "PT410",
        },
    ),
    413: ("Request body too large", {"detail": "The request body is larger than 1048576 bytes."}),
    415: ("Request body not JSON", {"detail": "Send the request body as JSON, with Content-Type: application/json."}),
    503: (
        "Database unavailable, or no connection free in time",
        {"detail": "The database is not available right now; try again shortly."},
    ),
}

ETAG = {
    "ETag": {
        "description": "The resource's entity tag: equal for equal content, in every process and after restarts.",
        "schema": {"type": "string", "examples": ['"5d41402abc4b2a76b9719d911017c592"']},
    }
}


def tagged(status: int = 200, **extra: dict[str, Any]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a success that carries one resource and its ETag."""
    return {status: {"headers": ETAG | extra}}


def revalidated() -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a GET's 200 with an ETag and its 304."""
    return tagged(200) | {304: {"description": "Not Modified: If-None-Match matched; no body", "headers": dict(ETAG)}}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


def problems(
    *statuses: int, examples: dict[int, dict[str, Any]] | None = None, **descriptions: str
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the problem statuses an operation can answer with, each with its example.

    `descriptions` replace the generic text of a status (`s400="..."`) where the operation has more to say;
    `examples`, the generic example's fields (`{404: {"detail": ...}}`).
    """
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, fields = _EXAMPLES[status]
        fields = fields | (examples or {}).get(status, {})
        example = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status} | fields
        documented[status] = {
            "description": descriptions.get(f"s{status}", description),
            # The Problem schema is added to the document by install().
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}, "example": example}},
        }
        if status == 503:
            documented[status]["headers"] = dict(RETRY_AFTER)
        if status == 412:
            documented[status]["headers"] = dict(ETAG)
    return documented


def created(what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a 201 whose Location header is the URL of the new resource, with its ETag."""
    return tagged(201, Location={"description": f"URL of the new {what}", "schema": {"type": "string"}})


def _document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, less the 422 it adds to every operation: validation failures are 400 here."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        for path in schema["paths"].values():
            for operation in path.values():
                operation.get("responses", {}).pop("422", None)
                for response in operation.get("responses", {}).values():
                    response.setdefault("headers", {}).update(REQUEST_ID_HEADER)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        # What an event stream's events carry: no route returns them as a body, so FastAPI does not list them.
        for model in EVENT_PAYLOADS:
            components[model.__name__] = model.model_json_schema(ref_template="#/components/schemas/{model}")
        app.openapi_schema = schema
    return app.openapi_schema


def install(app: FastAPI) -> None:
    app.openapi = lambda: _document(app)  # type: ignore[method-assign]

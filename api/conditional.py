"""Conditional requests on one resource (RFC 9110 §13), for the routes.

Every answer that carries one application or configuration has its ETag; a GET whose
If-None-Match matches is a 304 without a body, or with `wait` a long-poll (api.watch)
that answers when the resource changes; a write's If-Match goes to the function,
which compares it under the row lock (SQLSTATE PT412) so that of concurrent writers with
the same tag exactly one succeeds. The 412 carries the current ETag, read again.
"""

from collections.abc import Sequence
from typing import Annotated, Any

import psycopg2
from fastapi import Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import Field, TypeAdapter, ValidationError

from api.database import Database
from api.errors import PreconditionFailed
from api.etags import etag
from api.routes import JsonText
from api.watch import MAX_WAIT_SECONDS, Current

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="Write only if the resource's current ETag is one of these (strong comparison); `*`: if it exists.",
    ),
]

# A GET's If-None-Match and `wait` are read from the request by `get`, not declared as
# parameters: FastAPI 0.116 inspects each declared parameter's type on every request, which
# cost a third of a GET's time in the event loop (95 against 62 µs measured). They are
# documented here instead, and `wait` is validated as FastAPI would (400, loc query.wait).
_WAIT_SECONDS = TypeAdapter(Annotated[float, Field(ge=1, le=MAX_WAIT_SECONDS)])
GET_PARAMETERS = {
    "parameters": [
        {
            "name": "wait",
            "in": "query",
            "required": False,
            "schema": {"type": "number", "minimum": 1, "maximum": MAX_WAIT_SECONDS, "title": "Wait"},
            "description": f"With `If-None-Match`: while the ETag still matches, hold the answer up to this many "
            f"seconds (1-{MAX_WAIT_SECONDS}) until the resource changes (200) or is deleted (404); 304 when the "
            "wait ends first. Without `If-None-Match` it changes nothing.",
        },
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "title": "If-None-Match"},
            "description": "Answer 304 without a body if the current ETag is one of these.",
        },
    ]
}


async def get(request: Request, statement: str, *params: Any) -> Response:
    """A GET of one resource: 304 when the client's copy is current, a long-poll when it asks to wait.

    A plain function rather than a dependency: FastAPI 0.116 inspects each dependency on every request.
    """
    if_none_match = request.headers.get("if-none-match")
    wait = wait_of(request)
    state = request.app.state
    if wait is None or if_none_match is None:
        text = await state.reads.fetch_value(statement, params, if_none_match=if_none_match)
        return read(text, if_none_match)
    return await state.watchers.long_poll((statement, params), if_none_match, wait)


def wait_of(request: Request) -> float | None:
    """The request's `wait`, or None; 400 when it is not a number of seconds from 1 to the most."""
    text = request.query_params.get("wait")
    if text is None:
        return None
    try:
        return _WAIT_SECONDS.validate_python(text)
    except ValidationError as exc:
        raise RequestValidationError([error | {"loc": ("query", "wait")} for error in exc.errors()]) from None


def tagged(text: str, status_code: int = 200, headers: dict[str, str] | None = None) -> JsonText:
    """The resource's JSON text with its ETag."""
    return JsonText(text, status_code=status_code, headers={"ETag": etag(text)} | (headers or {}))


def read(text: str, if_none_match: str | None) -> Response:
    """200 with the resource, or 304 when the client's copy is current."""
    return Current.of(text).response(if_none_match)


async def write(db: Database, statement: str, params: Sequence[Any], current: tuple[str, str]) -> Any:
    """Run a conditional write; on PT412, a 412 with the ETag that `current` (statement, id) reads now."""
    try:
        return await db.fetch_value(statement, params)
    except psycopg2.Error as exc:
        if exc.pgcode != "PT412":
            raise
        statement, resource_id = current
        now = await db.fetch_value(statement, (resource_id,), idempotent=True)
        raise PreconditionFailed(exc.diag.message_primary, sqlstate="PT412", etag=etag(now)) from exc

"""Conditional requests on one resource (RFC 9110 §13), for the routes.

Every answer that carries one application or configuration has its ETag; a GET whose
If-None-Match matches is a 304 without a body; a write's If-Match goes to the function,
which compares it under the row lock (SQLSTATE PT412) so that of concurrent writers with
the same tag exactly one succeeds. The 412 carries the current ETag, read again.
"""

from collections.abc import Sequence
from typing import Annotated, Any

import psycopg2
from fastapi import Header
from fastapi.responses import Response

from api.database import Database
from api.errors import PreconditionFailed
from api.etags import etag, none_match
from api.routes import JsonText

IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="Write only if the resource's current ETag is one of these (strong comparison); `*`: if it exists.",
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Header(alias="If-None-Match", description="Answer 304 without a body if the current ETag is one of these."),
]


def tagged(text: str, status_code: int = 200, headers: dict[str, str] | None = None) -> JsonText:
    """The resource's JSON text with its ETag."""
    return JsonText(text, status_code=status_code, headers={"ETag": etag(text)} | (headers or {}))


def read(text: str, if_none_match: str | None) -> Response:
    """200 with the resource, or 304 when the client's copy is current."""
    tag = etag(text)
    if none_match(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    return JsonText(text, headers={"ETag": tag})


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

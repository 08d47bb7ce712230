"""The responses the routes send.

Every body has the one form PostgreSQL's jsonb writes, `{"a": 1, "b": [1, 2]}`: the
functions build theirs as jsonb, and what Python writes follows it (`JsonResponse`).
"""

import json
from typing import Any

from fastapi.responses import JSONResponse, Response

from api.etags import Current, etag


class JsonText(Response):
    """Sends JSON text as it is: the database function built the document."""

    media_type = "application/json"


class JsonResponse(JSONResponse):
    """JSON written as jsonb writes it: a space after each colon and comma, text left unescaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")


def tagged(text: str, status_code: int = 200, headers: dict[str, str] | None = None) -> JsonText:
    """The resource's JSON text with its ETag."""
    return JsonText(text, status_code=status_code, headers={"ETag": etag(text)} | (headers or {}))


def resource_response(resource: Current, if_none_match: str | None) -> Response:
    """200 with the resource, or 304 without a body when the client's copy is current."""
    if resource.matches(if_none_match):
        return Response(status_code=304, headers={"ETag": resource.etag})
    return Response(resource.body, media_type="application/json", headers={"ETag": resource.etag})

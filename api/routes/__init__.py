"""One router per resource; the app factory includes them under /api/v1.

Every body has the one form PostgreSQL's jsonb writes, `{"a": 1, "b": [1, 2]}`: the
functions build theirs as jsonb, and what Python writes follows it (`JsonResponse`).
"""

import json
from typing import Any

from fastapi.responses import JSONResponse, Response


class JsonText(Response):
    """Sends JSON text as it is: the database function built the document."""

    media_type = "application/json"


class JsonResponse(JSONResponse):
    """JSON written as jsonb writes it: a space after each colon and comma, text left unescaped."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False).encode("utf-8")

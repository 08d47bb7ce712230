"""One router per resource; the app factory includes them under /api/v1."""

from typing import Any

from fastapi.responses import Response


class JsonText(Response):
    """Sends JSON text as it is: the database function built the document."""

    media_type = "application/json"


def created(what: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI for a 201 whose Location header is the URL of the new resource."""
    return {201: {"headers": {"Location": {"description": f"URL of the new {what}", "schema": {"type": "string"}}}}}

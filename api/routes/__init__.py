"""One router per resource; the app factory includes them under /api/v1."""

from fastapi.responses import Response


class JsonText(Response):
    """Sends JSON text as it is: the database function built the document."""

    media_type = "application/json"

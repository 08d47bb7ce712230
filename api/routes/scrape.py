"""/metrics: the Prometheus scrape, beside the probes and outside the API's document.

METRICS_PORT moves it to a port of its own (api.metrics.serve), and then it is not here.
"""

import asyncio

from fastapi import APIRouter, Request, Response

from api.metrics import exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.scrape_registry()
    # In a thread: the scrape tries the database, and reads every worker's files with several.
    body, content_type = await asyncio.to_thread(exposition, registry, request.headers.get("accept", ""))
    return Response(body, media_type=content_type)

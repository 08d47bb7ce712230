"""/metrics: the Prometheus scrape, beside the probes and outside the API's document.

METRICS_PORT moves it to a port of its own (api.metrics.serve), and then it is not here.
"""

import asyncio
import gzip

from fastapi import APIRouter, Request, Response

from api.metrics import exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    metrics = request.app.state.metrics
    # Off the event loop: a scrape samples the gauges in it, and may try the database.
    body, content_type = await asyncio.get_running_loop().run_in_executor(
        metrics.scrape_executor, exposition, metrics.scrape_registry(), request.headers.get("accept", "")
    )
    headers = {}
    if "gzip" in request.headers.get("accept-encoding", ""):  # Prometheus asks for it: a tenth of the bytes
        body, headers = gzip.compress(body, compresslevel=1), {"Content-Encoding": "gzip"}
    return Response(body, media_type=content_type, headers=headers)

"""/metrics: the Prometheus scrape, beside the probes and outside the API's document.

METRICS_PORT moves it to a port of its own (api.observability.scrape.serve), and then it is not here.
"""

import asyncio
import gzip

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry

from api.observability.scrape import exposition

router = APIRouter(include_in_schema=False)


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    metrics = request.app.state.metrics
    zipped = gzip_accepted(
        ",".join(request.headers.getlist("accept-encoding"))
    )  # Prometheus asks: a tenth of the bytes
    # Off the event loop: a scrape samples the gauges in it, may try the database, and compresses.
    body, content_type = await asyncio.get_running_loop().run_in_executor(
        metrics.scrape_executor, _body, metrics.scraped, request.headers.get("accept", ""), zipped
    )
    headers = {"Vary": "Accept, Accept-Encoding"} | ({"Content-Encoding": "gzip"} if zipped else {})
    return Response(body, media_type=content_type, headers=headers)


def _body(registry: CollectorRegistry, accept: str, zipped: bool) -> tuple[bytes, str]:
    body, content_type = exposition(registry, accept)
    return (gzip.compress(body, compresslevel=1) if zipped else body), content_type


def gzip_accepted(accept_encoding: str) -> bool:
    """Whether Accept-Encoding takes gzip (RFC 9110 12.5.3): named, or `*`, with a weight above 0.
    (prometheus-client's own test finds "gzip" anywhere in the header, `gzip;q=0` too.)"""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        coding = coding.strip().lower()
        if not coding:
            continue
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding] = weight
    return weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0))) > 0

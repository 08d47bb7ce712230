"""Probes: /healthz (liveness) and /readyz (readiness), outside the versioned API."""

from fastapi import APIRouter, Request

from api.db.readiness import UNREACHABLE
from api.http.openapi import problems
from api.http.responses import JsonText
from api.schema.errors import ServiceUnavailable
from api.schema.models import Status

router = APIRouter(tags=["health"])

# What the Status model would write, as text: a Response is sent as it is, without FastAPI
# validating and serialising a constant on every probe.
ALIVE = '{"status": "ok"}'


@router.get("/healthz", summary="Liveness", response_model=Status, response_model_exclude_none=True)
async def healthz() -> JsonText:
    """Answers while the process serves requests; does no database work."""
    return JsonText(ALIVE)


@router.get(
    "/readyz", summary="Readiness", response_model=Status, response_model_exclude_none=True, responses=problems(503)
)
async def readyz(request: Request) -> dict:
    """200 `ready` when the database answers and its schema matches this release; 200 `degraded`,
    with the reasons, while it can serve reads but something is down (the primary, with standbys to
    read from, or a standby); 503 with the reasons when it cannot serve."""
    reads = request.app.state.reads
    primary = await request.app.state.readiness.problems()
    standbys = reads.problems()
    # The lag checks see the primary go within a quarter of MAX_REPLICA_LAG; readiness caches 5 s.
    primary_down = primary == [UNREACHABLE] or (reads.standbys and not reads.primary_reachable)
    standbys_serving = len(standbys) < len(reads.standbys)
    if primary_down and standbys_serving:
        problems = ["the primary cannot be reached: reads are served by standbys, writes answer 503", *standbys]
        return {"status": "degraded", "problems": problems}
    if primary:
        raise ServiceUnavailable("Not ready: " + "; ".join(primary + standbys))
    if standbys:
        return {"status": "degraded", "problems": standbys}
    return {"status": "ready"}

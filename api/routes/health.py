"""Probes: /healthz (liveness) and /readyz (readiness), outside the versioned API."""

from fastapi import APIRouter, Request

from api.errors import ServiceUnavailable
from api.models import Status
from api.openapi import problems
from api.readiness import UNREACHABLE

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", response_model=Status, response_model_exclude_none=True)
async def healthz() -> dict[str, str]:
    """Answers while the process serves requests; does no database work."""
    return {"status": "ok"}


@router.get(
    "/readyz", summary="Readiness", response_model=Status, response_model_exclude_none=True, responses=problems(503)
)
async def readyz(request: Request) -> dict:
    """200 `ready` when the database answers and its schema matches this release; 200 `degraded`,
    with the reasons, while it can serve reads but something is down (the primary, with standbys to
    read from, or a standby); 503 with the reasons when it cannot serve."""
    primary = await request.app.state.readiness.problems()
    reads = request.app.state.reads
    if reads.standbys and not reads.primary_reachable:
        primary = [UNREACHABLE]  # the lag checks know it within a quarter of MAX_REPLICA_LAG
    standbys = reads.problems()
    if primary == [UNREACHABLE] and len(standbys) < len(reads.standbys):
        primary = ["the primary cannot be reached: reads are served by standbys, writes answer 503"]
    elif primary:
        raise ServiceUnavailable("Not ready: " + "; ".join(primary + standbys))
    if primary or standbys:
        return {"status": "degraded", "problems": primary + standbys}
    return {"status": "ready"}

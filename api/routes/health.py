"""Probes: /healthz (liveness) and /readyz (readiness), outside the versioned API."""

from fastapi import APIRouter, Request

from api.errors import ServiceUnavailable
from api.models import Status
from api.openapi import problems

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", response_model=Status)
async def healthz() -> dict[str, str]:
    """Answers while the process serves requests; does no database work."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", response_model=Status, responses=problems(503))
async def readyz(request: Request) -> dict[str, str]:
    """200 when the database answers and its schema matches this release; 503 with the reasons otherwise."""
    problems = await request.app.state.readiness.problems()
    if problems:
        raise ServiceUnavailable("Not ready: " + "; ".join(problems))
    return {"status": "ready"}

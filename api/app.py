"""The FastAPI application factory.

`create_app()` builds the app from a `Settings` (read from the environment when
none is given, as when uvicorn imports it by name in a worker process).
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api.logs import configure_logging
from api.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("API starting")
        yield
        log.info("API stopped")

    app = FastAPI(
        title="Applications and configurations",
        version="1.0.0",
        description="Applications and their JSON configurations, kept by PostgreSQL functions.",
        lifespan=lifespan,
    )
    app.state.settings = settings

    @app.get("/healthz", tags=["health"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        """Answers while the process serves requests; does no database work."""
        return {"status": "ok"}

    return app

"""Dependencies shared by the routes, as `Annotated` aliases and `Depends` markers."""

from typing import Annotated

from fastapi import Depends, Request

from api.database import Database
from api.errors import UnsupportedMediaType
from api.replicas import Reads

# Dependencies are `async def` although they never await: FastAPI runs a plain `def`
# dependency on a worker thread, a thread hop per request for nothing.


async def get_database(request: Request) -> Database:
    return request.app.state.database


async def get_reads(request: Request) -> Reads:
    return request.app.state.reads


async def require_json(request: Request) -> None:
    """Refuse (415) a body not declared as JSON: application/json or application/*+json."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType()


Db = Annotated[Database, Depends(get_database)]
# For the STABLE reads: standbys when configured and fresh, else the primary (api.replicas).
ReadDb = Annotated[Reads, Depends(get_reads)]
JsonBody = Depends(require_json)

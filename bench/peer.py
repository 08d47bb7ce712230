"""The peer `make bench` compares the API with: what a Python user would write instead.

A bare FastAPI app on asyncpg calling the same functions and passing their JSON
text through, with a pool of the API's size, served by the same uvicorn loop
(uvloop) and HTTP parser (httptools). It has no request ids, no log line, no
validation and no problem mapping: a ceiling for the same stack, not a service.
A benchmark dependency only; the service never imports it.

    DATABASE_URL=... PORT=8001 POOL_SIZE=16 python -m bench.peer
"""

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import psycopg2.extensions
import uvicorn
from fastapi import FastAPI, Request, Response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("POOL_SIZE", "16"))
    # asyncpg reads URIs only; the bench's DSNs are libpq key=value strings.
    params = psycopg2.extensions.parse_dsn(os.environ["DATABASE_URL"])
    params["database"] = params.pop("dbname", None)
    app.state.pool = await asyncpg.create_pool(**params, min_size=size, max_size=size)
    try:
        yield
    finally:
        await app.state.pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/v1/applications/{application_id}")
async def get_application(application_id: str, request: Request) -> Response:
    text = await request.app.state.pool.fetchval("SELECT app_get($1)", application_id)
    return Response(text, media_type="application/json")


@app.post("/api/v1/applications")
async def create_application(request: Request) -> Response:
    body = await request.json()
    text = await request.app.state.pool.fetchval("SELECT app_create($1, $2)", body["name"], body.get("comments"))
    return Response(text, status_code=201, media_type="application/json")


def main() -> int:
    port = int(os.environ.get("PORT", "8001"))
    uvicorn.run(app, port=port, loop="uvloop", http="httptools", access_log=False, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())

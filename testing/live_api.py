"""The API served in the caller's event loop, and what its tests do to it: long-polls, event
streams, a DBA's call in psql. For the tests and probes that need a real server and real sockets
but not a process of their own (and so measure the coverage of what the server runs)."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import psycopg2
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from devtools.api_process import free_port
from settings import Settings


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The app served by uvicorn on a free port, in this event loop: a client of it, and the app."""
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_config=None, access_log=False, lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        assert not serving.done(), "the server did not start"
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, app
    finally:
        server.should_exit = True
        await serving


def psql(dsn: str, statement: str, *params) -> object:
    """What a DBA does: call a function on a connection of its own."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()[0] if cur.description else None
    finally:
        conn.close()


async def long_poll(client: httpx.AsyncClient, path: str, etag: str, wait: float = 10) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await client.get(path, params={"wait": wait}, headers={"If-None-Match": etag})
    return response, time.monotonic() - started


async def waiting(task: asyncio.Task, seconds: float = 0.3) -> None:
    """Give a long-poll in another process time to be held, and check that it is."""
    await asyncio.sleep(seconds)
    assert not task.done(), task.result()


async def held(app: FastAPI, count: int = 1) -> None:
    """Until `count` long-polls are held by `app` (served in this process)."""
    async with asyncio.timeout(10):
        while app.state.watchers.waiting < count:
            await asyncio.sleep(0.01)


async def sse(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """(event, data) per event, and ("comment", text) per comment line."""
    event, data = None, []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            yield event, "\n".join(data)
            event, data = None, []


async def sse_with_ids(response: httpx.Response) -> AsyncIterator[tuple[str | None, str, str]]:
    """(id, event, data) per event, as an EventSource reads them; comments are skipped."""
    event_id, event, data = None, "message", []
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = line.removeprefix("id: ")
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data.append(line.removeprefix("data: "))
        elif line == "" and data:
            yield event_id, event, "\n".join(data)
            event_id, event, data = None, "message", []

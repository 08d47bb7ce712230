"""Many requests at once through the app, and a row lock held from another session."""

import asyncio
import threading
import time
from collections import Counter

import httpx
import psycopg2

from api.app import create_app


async def concurrently(settings, *requests):
    """Send every (method, url, json) request at once through the ASGI app; the responses, in order."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(*(client.request(m, url, json=body) for m, url, body in requests))


def statuses(responses) -> Counter:
    return Counter(r.status_code for r in responses)


def hold_row_lock(dsn: str, app_id: str, seconds: float) -> threading.Thread:
    """Lock an application's row from another session for `seconds`, so PUTs to it wait."""
    locked = threading.Event()

    def hold() -> None:
        conn = psycopg2.connect(dsn)
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM applications WHERE id = %s FOR UPDATE", (app_id,))
            locked.set()
            time.sleep(seconds)
        conn.rollback()
        conn.close()

    thread = threading.Thread(target=hold)
    thread.start()
    locked.wait(5)
    return thread

"""The event stream's response, alone."""

import asyncio
import json

from api.http.routes.events import EventStream
from api.watch.hub import Watchers

APP_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def application(name: str) -> str:
    return json.dumps({"id": APP_ID, "name": name, "comments": None, "configuration_ids": []})


def test_a_stream_ends_its_subscription_also_when_the_client_left_before_its_first_byte():
    async def scenario() -> tuple[int, object]:
        watchers = Watchers()
        stream = watchers.subscribe(APP_ID)
        response = EventStream(watchers, stream, application("x"), heartbeat_seconds=60)

        async def receive() -> dict:
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            pass

        await asyncio.wait_for(response({"type": "http", "asgi": {"spec_version": "2.3"}}, receive, send), 2)
        unsubscribed = watchers.streaming

        watchers.close()  # then a stream opened as the server stops ends at once
        late = watchers.subscribe(APP_ID)
        return unsubscribed, late.queue.get_nowait()

    assert asyncio.run(scenario()) == (0, None)

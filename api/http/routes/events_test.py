"""The event stream's response, alone."""

import asyncio
import json
import re

from api.http.routes.events import EventStream
from api.watch.hub import Watchers
from testing.live_api import served

APP_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def application(name: str) -> str:
    return json.dumps({"id": APP_ID, "name": name, "comments": None, "configuration_ids": []})


def test_a_stream_ends_its_subscription_also_when_the_client_left_before_its_first_byte():
    async def scenario() -> tuple[int, object]:
        watchers = Watchers()
        stream = watchers.subscribe(APP_ID)
        response = EventStream(watchers, stream, application("x"), 60, 0, catch_up=None)

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


def test_the_stream_asks_for_a_reconnect_delay_and_documents_each_event_as_a_component(settings):
    async def scenario() -> tuple[str, dict]:
        async with served(settings) as (client, _):
            app = (await client.post("/api/v1/applications", json={"name": "streamed"})).json()
            async with client.stream("GET", f"/api/v1/applications/{app['id']}/events") as stream:
                first = await anext(stream.aiter_text())
            return first, (await client.get("/openapi.json")).json()

    first, document = asyncio.run(scenario())
    events = document["paths"]["/api/v1/applications/{application_id}/events"]["get"]["responses"]["200"]
    media = events["content"]["text/event-stream"]
    schemas = document["components"]["schemas"]

    # The stream's first id is the revision its state is at (the application's creation): a
    # reconnect resumes from there.
    assert re.match(r"retry: 2000\nid: [1-9][0-9]*\nevent: subscribed\ndata: \{", first)
    assert media["schema"] == {"type": "string"}  # text: no client reads it as one JSON body
    named = {ref["$ref"].rsplit("/", 1)[1] for ref in media["x-events"].values()}
    assert named == {"SubscribedEvent", "ChangeEvent", "ResyncEvent"} and named <= schemas.keys()
    assert "etag" not in schemas["ChangeEvent"].get("required", [])  # absent on a delete

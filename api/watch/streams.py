"""Event streams: the changes of one application, queued for one client, as text/event-stream.

A client that reads slower than the changes come loses its backlog and is sent `resync`,
so that one slow reader holds at most `MAX_QUEUED_EVENTS` events.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from api.etags import etag

# Events queued for a client that reads slower than they come, before it is sent `resync` instead.
MAX_QUEUED_EVENTS = 1000
# What the stream asks an EventSource to wait before it reconnects, in ms (its own default is 3 s
# in some browsers, 5 s in others): a reconnect after a server restart, at once but not in a loop.
RETRY_MS = 2000


@dataclass(eq=False, slots=True)
class Stream:
    """The events of one application, queued for one client; None ends the stream."""

    application_id: str
    client: str = ""  # the address it was opened from (api.watch.admission)
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=MAX_QUEUED_EVENTS))


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


RESYNC = sse("resync", json.dumps({"reason": "changes may have been missed: read the application again"}))


def send(stream: Stream, event: str | None) -> None:
    """Queue `event` (None: the end) for the stream's client, or `resync` when it has fallen behind."""
    try:
        stream.queue.put_nowait(event)
    except asyncio.QueueFull:
        while not stream.queue.empty():
            stream.queue.get_nowait()
        stream.queue.put_nowait(RESYNC)
        if event is None:
            stream.queue.put_nowait(None)


async def events(stream: Stream, application: str, heartbeat_seconds: float) -> AsyncIterator[str]:
    """The stream's text/event-stream: `subscribed` with the application's ETag as it was read
    (`application`, its JSON text), then its events as they come, and a comment when idle."""
    yield f"retry: {RETRY_MS}\n" + sse(
        "subscribed", json.dumps({"application_id": stream.application_id, "etag": etag(application)})
    )
    while True:
        try:
            event = await asyncio.wait_for(stream.queue.get(), heartbeat_seconds)
        except TimeoutError:
            yield ": heartbeat\n\n"
            continue
        if event is None:  # the application was deleted, or the server is stopping
            return
        yield event

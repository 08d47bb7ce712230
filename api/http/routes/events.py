"""/applications/{id}/events: an application's changes as Server-Sent Events, as they happen."""

import json
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.db.gateway import Store
from api.http.conditional import client_address
from api.http.openapi import problems
from api.http.routing import store
from api.observability.metrics import UNTIMED
from api.schema.errors import ApiError, Gone
from api.schema.history import MAX_REVISION
from api.schema.models import UlidText
from api.watch import notifications, streams
from api.watch.hub import Watchers
from api.watch.streams import MAX_QUEUED_EVENTS, CatchUp, Replay, Stream

router = APIRouter(prefix="/applications", tags=["watch"])

EVENT_STREAM = {
    200: {
        "description": "A `text/event-stream` of the application's changes, held open: read it with an SSE "
        "client (EventSource), not as one body. Each event's `data` is JSON: `subscribed` a SubscribedEvent, "
        "`created`/`updated`/`deleted` a ChangeEvent, `resync` a ResyncEvent. Close the stream on the "
        "application's own `deleted`: it ends there, and a reconnect is a 404 (unless it was undeleted).",
        "content": {
            "text/event-stream": {
                # Text, so that a generated client does not parse the stream as one JSON document; what
                # each event carries is in the components, named by x-events (and OpenAPI 3.2's itemSchema).
                "schema": {"type": "string"},
                "x-events": {
                    "subscribed": {"$ref": "#/components/schemas/SubscribedEvent"},
                    "created": {"$ref": "#/components/schemas/ChangeEvent"},
                    "updated": {"$ref": "#/components/schemas/ChangeEvent"},
                    "deleted": {"$ref": "#/components/schemas/ChangeEvent"},
                    "resync": {"$ref": "#/components/schemas/ResyncEvent"},
                },
                "itemSchema": {
                    "type": "object",
                    "required": ["event", "data"],
                    "properties": {
                        "event": {"enum": ["subscribed", "created", "updated", "deleted", "resync"]},
                        "data": {"type": "string", "contentMediaType": "application/json"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                },
                "example": 'id: 42\nevent: updated\ndata: {"id": "01J5ZK3V8M2Q4R6T8W0Y2A4C6E", "etag": "\\"…\\"", '
                '"action": "updated", "entity": "configuration", "revision": 42, '
                '"application_id": "01J5ZK3V8M2Q4R6T8W0Y2A4C6D"}\n\n',
            }
        },
    }
}


LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The `id` of the last event received: resume after that revision (what an EventSource "
        "sends when it reconnects).",
    ),
]


class EventStream(StreamingResponse):
    """A stream's response, which ends its subscription however it ends: also when the client
    left before the first byte, and the body was never iterated."""

    def __init__(
        self,
        watchers: Watchers,
        stream: Stream,
        application: str,
        heartbeat_seconds: float,
        start: int,
        catch_up: CatchUp,
        replay: Replay | None = None,
    ) -> None:
        super().__init__(
            streams.events(stream, application, heartbeat_seconds, start, catch_up, replay),
            media_type="text/event-stream",
            # Proxies must neither cache it nor hold it back to fill a buffer.
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self.watchers, self.stream = watchers, stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[UNTIMED] = True  # open as long as the client listens
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.watchers.unsubscribe(self.stream)


@router.get(
    "/{application_id}/events",
    response_class=StreamingResponse,
    responses=EVENT_STREAM | problems(400, 404, 503),
)
async def stream_application_events(
    application_id: UlidText, request: Request, last_event_id: LastEventId = None
) -> EventStream:
    """Every change of the application or of any of its configurations, in the order they committed,
    made through any API process or in psql: `event:` `created`, `updated` or `deleted`; `id:` its
    revision; `data:` the change, `{"entity", "action", "id", "application_id", "etag",
    "application_etag", "revision"}` (db/README.md). The first event, `subscribed`, carries the
    application's ETag when the stream began, and as its `id` the newest revision before that read
    (the state may hold a change or two more, which the stream then sends again).

    A client that reconnects with `Last-Event-ID` (an EventSource does so by itself) first gets
    every change it missed, from the revisions kept, then the live ones: none twice, none skipped.
    A stream that may have missed changes while open (its server lost its notifications for a while,
    or its client read too slowly) catches up the same way. When what was missed is no longer all
    kept, or more than 1,000 events, the client gets `event: resync` instead, and should read the
    application and its configurations again.

    A comment line every `HEARTBEAT_SECONDS` (15 by default) keeps an idle stream open through
    proxies. The stream ends after `event: deleted` for the application itself.
    """
    watchers = request.app.state.watchers
    gateway = store(request).fresh
    resume_after = _resume_after(last_event_id)
    catch_up = partial(_missed, gateway, application_id)
    # Subscribed before anything is read: no change can fall between the two, and one read twice
    # is sent once (api.watch.streams).
    stream = watchers.subscribe(application_id, client_address(request))
    try:
        latest = await gateway.revision_latest()
        application = (await gateway.app_get(application_id)).body.decode()
        replay = None if resume_after is None else await catch_up(resume_after)
    except BaseException:
        watchers.unsubscribe(stream)
        raise
    start = latest if resume_after is None else resume_after
    settings = request.app.state.settings
    return EventStream(watchers, stream, application, settings.heartbeat_seconds, start, catch_up, replay)


def _resume_after(value: str | None) -> int | None:
    """The revision a returning client last saw; 0 (resync) for an id this service never sent, so
    that the client is told rather than silently resumed from the wrong place."""
    if value is None:
        return None
    value = value.strip()
    # Digits only, and few: int() of thousands of digits is slow, and refused past 4,300.
    if not (value.isascii() and value.isdigit() and len(value) <= len(str(MAX_REVISION))):
        return 0
    return int(value) if 0 < int(value) <= MAX_REVISION else 0


async def _missed(gateway: Store, application_id: str, after: int) -> Replay:
    """The application's changes after revision `after`; or `missed` when they cannot all be
    replayed, with the newest revision to go on after."""
    try:
        latest = await gateway.revision_latest()
        if after == 0:
            return Replay(missed=True, resume_at=latest)
        page = await gateway.change_list(after, MAX_QUEUED_EVENTS + 1, application_id)
    except Gone:
        return Replay(missed=True, resume_at=latest)
    except ApiError:  # the database away: the client reads again once it can
        return Replay(missed=True)
    # The feed's entries are the notifications' fields and the time, which an event leaves out.
    changes = [notifications.change_of({k: v for k, v in entry.items() if k != "at"}) for entry in json.loads(page)]
    if len(changes) > MAX_QUEUED_EVENTS:
        return Replay(missed=True, resume_at=latest)
    return Replay(tuple(change for change in changes if change is not None))

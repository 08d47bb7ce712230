"""/applications/{id}/events: an application's changes as Server-Sent Events, as they happen."""

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from api.http.conditional import client_address
from api.http.openapi import problems
from api.http.routing import store
from api.observability.metrics import UNTIMED
from api.schema.models import UlidText
from api.watch import streams
from api.watch.hub import Watchers
from api.watch.streams import Stream

router = APIRouter(prefix="/applications", tags=["watch"])

EVENT_STREAM = {
    200: {
        "description": "A `text/event-stream` of the application's changes, held open: read it with an SSE "
        "client (EventSource), not as one body. Each event's `data` is JSON: `subscribed` a SubscribedEvent, "
        "`created`/`updated`/`deleted` a ChangeEvent, `resync` a ResyncEvent. Close the stream on the "
        "application's own `deleted`: it ends there, and a reconnect would be a 404.",
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
                "example": 'event: updated\ndata: {"id": "01J5ZK3V8M2Q4R6T8W0Y2A4C6E", "etag": "\\"…\\"", '
                '"action": "updated", "entity": "configuration", "application_id": "01J5ZK3V8M2Q4R6T8W0Y2A4C6D"}\n\n',
            }
        },
    }
}


class EventStream(StreamingResponse):
    """A stream's response, which ends its subscription however it ends: also when the client
    left before the first byte, and the body was never iterated."""

    def __init__(self, watchers: Watchers, stream: Stream, application: str, heartbeat_seconds: float) -> None:
        super().__init__(
            streams.events(stream, application, heartbeat_seconds),
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
async def stream_application_events(application_id: UlidText, request: Request) -> EventStream:
    """Every change of the application or of any of its configurations, as it is committed, made
    through any API process or in psql: `event:` `created`, `updated` or `deleted`; `data:` the change,
    `{"entity", "action", "id", "application_id", "etag", "application_etag"}` (db/README.md). The
    first event, `subscribed`, carries the application's ETag when the stream began.

    A comment line every `HEARTBEAT_SECONDS` (15 by default) keeps an idle stream open through
    proxies. The stream ends after `event: deleted` for the application itself. Events are not
    stored, so a stream cannot be resumed (`Last-Event-ID` is ignored): when the service may have
    missed some, the stream gets `event: resync`, and the client should read the application and
    its configurations again.
    """
    watchers = request.app.state.watchers
    # Subscribed before the application is read: no change can fall between the two.
    stream = watchers.subscribe(application_id, client_address(request))
    try:
        application = await store(request).fresh.app_get(application_id)
    except BaseException:
        watchers.unsubscribe(stream)
        raise
    return EventStream(watchers, stream, application, request.app.state.settings.heartbeat_seconds)

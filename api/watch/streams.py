"""Event streams: the changes of one application, queued for one client, as text/event-stream.

Every change event carries its revision as its `id`. A stream starts at a revision: the newest
when the client comes without `Last-Event-ID` (its first event, `subscribed`, says which), or the
one it names when it comes back, from which what it missed is replayed out of the revisions
table before the live events. Each event is sent at most once, in revision order: a live event
at or below what the stream has sent is dropped.

A stream that may have missed changes catches up from the revisions table, in place: one whose
client reads slower than the changes come drops its backlog, and one whose server lost its
notifications for a while (the listener's connection) is told so; each then reads what it has
not sent. Only when that is more than `MAX_QUEUED_EVENTS`, or no longer kept, is the client sent
`resync` (read the application again). One slow reader holds at most `MAX_QUEUED_EVENTS` events.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from api.etags import etag
from api.watch.notifications import Change

# Events queued for a client that reads slower than they come, before it is sent `resync` instead;
# also the most that are replayed to a client that comes back.
MAX_QUEUED_EVENTS = 1000
# What the stream asks an EventSource to wait before it reconnects, in ms (its own default is 3 s
# in some browsers, 5 s in others): a reconnect after a server restart, at once but not in a loop.
RETRY_MS = 2000

# A queued event: its revision (0 for what is not a change, sent whatever the stream has sent)
# and its text; None ends the stream.
Event = tuple[int, str]


@dataclass(eq=False, slots=True)
class Stream:
    """The events of one application, queued for one client; None ends the stream."""

    application_id: str
    client: str = ""  # the address it was opened from (api.watch.admission)
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=MAX_QUEUED_EVENTS))


def sse(event: str, data: str, event_id: int | None = None) -> str:
    lines = f"id: {event_id}\n" if event_id is not None else ""
    return f"{lines}event: {event}\ndata: {data}\n\n"


RESYNC_DATA = json.dumps({"reason": "changes may have been missed: read the application again"})
RESYNC = sse("resync", RESYNC_DATA)
# Queued when the stream may have missed changes: read them from the revisions (`CatchUp`).
CATCH_UP: Event = (-1, "")

# Reads the stream's application's changes after a revision (the HTTP layer's, on the database).
CatchUp = Callable[[int], Awaitable["Replay"]]


def change_event(change: Change) -> Event:
    return change.revision, sse(change.action, change.event_data(), change.revision)


def ends(change: Change) -> bool:
    """Whether the change ends its application's stream: the application's own deletion."""
    return change.entity == "application" and change.action == "deleted"


def send(stream: Stream, event: Event | None) -> None:
    """Queue `event` (None: the end) for the stream's client; when it has fallen behind, its backlog
    gives way to one `CATCH_UP`, which reads it again from the revisions."""
    try:
        stream.queue.put_nowait(event)
    except asyncio.QueueFull:
        while not stream.queue.empty():
            stream.queue.get_nowait()
        stream.queue.put_nowait(CATCH_UP)
        if event is None:
            stream.queue.put_nowait(None)


async def events(
    stream: Stream,
    application: str,
    heartbeat_seconds: float,
    start: int,
    catch_up: CatchUp,
    replay: "Replay | None" = None,
) -> AsyncIterator[str]:
    """The stream's text/event-stream: `subscribed` with the application's ETag as it was read
    (`application`, its JSON text), then, for a client that came back, what it missed (`replay`),
    then every event after revision `start` as it comes, and a comment when idle. A new stream's
    `subscribed` carries `start` as its id, so that a reconnect resumes from there. At a `CATCH_UP`,
    what the stream may have missed is read with `catch_up(the last revision sent)`."""
    subscribed = json.dumps({"application_id": stream.application_id, "etag": etag(application)})
    yield f"retry: {RETRY_MS}\n" + sse("subscribed", subscribed, start if replay is None else None)
    # What is known from the database (the start, what was replayed): a live event at or below it
    # is not sent again. A live event's revision is only what a notification said, which any role
    # may send: it never raises this floor, so a forged one cannot silence the events after it.
    floor = start
    last = start  # the last revision sent, where a catch-up reads on from
    while True:
        if replay is not None:
            if replay.missed:
                if replay.resume_at is None:  # the database could not be read: tell, and go on as before
                    yield RESYNC
                else:  # the client reads the application again: go on from then, and reconnect from there
                    yield sse("resync", RESYNC_DATA, replay.resume_at)
                    floor = last = replay.resume_at
            for change in replay.changes:
                if change.revision <= floor:
                    continue
                floor = last = change.revision
                yield change_event(change)[1]
                if ends(change):
                    return
            replay = None
        try:
            event = await asyncio.wait_for(stream.queue.get(), heartbeat_seconds)
        except TimeoutError:
            yield ": heartbeat\n\n"
            continue
        if event is None:  # the application was deleted, or the server is stopping
            return
        if event is CATCH_UP:
            replay = await catch_up(last)
            continue
        revision, text = event
        if revision:
            if revision <= floor:  # replayed already, or older than the state `subscribed` announced
                continue
            last = max(last, revision)
        yield text


@dataclass(frozen=True, slots=True)
class Replay:
    """What a stream missed: the changes, in order; or `missed` when they are more than a stream
    queues, no longer all kept, or could not be read, with the revision to go on after."""

    changes: Sequence[Change] = ()
    missed: bool = False
    resume_at: int | None = None  # None: not known (the database could not be read)

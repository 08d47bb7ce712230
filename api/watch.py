"""Watching resources: long-polls and event streams, woken by PostgreSQL's NOTIFY.

Every function that writes sends one notification on `appconfig_changes` when its
transaction commits (db/README.md), whoever called it: this process, another worker,
a DBA in psql. Each API process keeps one `Listener` (api.listener) outside the pool,
read from the event loop without a thread, and hands every notification to its
`Watchers`, which wake exactly the long-polls and streams of what it names.

A waiting long-poll holds no connection and no thread: a future in a group of the
waiters of the same read (same statement, same arguments). A notification makes the
group read once, and every waiter whose ETag that read no longer matches is answered
with it: 10,000 watchers of one configuration cost one query.

Notifications are not stored. When the listener's connection is lost, changes may be
missed until it is back: then every group reads again and every stream gets `resync`.
A long-poll whose wait ends while that may have happened reads again too, rather than
answering 304 on faith.
"""

import asyncio
import json
import logging
import random
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import psycopg2
import psycopg2.extensions
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.database import Database, PoolTimeout
from api.errors import ApiError, from_database_error
from api.etags import etag, none_match
from api.metrics import UNTIMED
from api.problems import database_problem, problem_response

log = logging.getLogger(__name__)

CHANNEL = "appconfig_changes"
MAX_WAIT_SECONDS = 300

# What a notification names: ("application", id) or ("configuration", id).
Key = tuple[str, str]
# A read of one resource: the statement and its arguments.
Read = tuple[str, tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class Current:
    """A resource as one read found it, ready to send to any number of waiters."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, text: str) -> "Current":
        return cls(text.encode(), etag(text))

    def response(self, if_none_match: str | None) -> Response:
        if none_match(if_none_match, self.etag):
            return Response(status_code=304, headers={"ETag": self.etag})
        return Response(self.body, media_type="application/json", headers={"ETag": self.etag})


# How a wait ends, besides with a new `Current` or the P0002 of a deleted resource.
TIMEOUT, CLOSED, GONE = object(), object(), object()


@dataclass(eq=False, slots=True)
class _Group:
    """The long-polls waiting on one read, each with its If-None-Match."""

    read: Read
    waiters: dict[asyncio.Future, str] = field(default_factory=dict)
    keys: frozenset[Key] = frozenset()
    reading: bool = False
    again: bool = False
    stale: bool = False  # a change was announced that no read has seen yet
    keyed: str = ""  # the ETag of the last version whose keys were filed


# Events queued for a client that reads slower than they come, before it is sent `resync` instead.
MAX_QUEUED_EVENTS = 1000
# When a watched resource could not be read again (the pool busy, the database down).
REREAD_RETRY_SECONDS = 1.0


@dataclass(eq=False, slots=True)
class Stream:
    """The events of one application, queued for one client; None ends the stream."""

    application_id: str
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(maxsize=MAX_QUEUED_EVENTS))


def sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


RESYNC = sse("resync", json.dumps({"reason": "changes may have been missed: read the application again"}))


ENTITIES = frozenset({"application", "configuration"})
ACTIONS = frozenset({"created", "updated", "deleted"})


def _change(payload: str) -> dict | None:
    """The notification's change, if it is one: any role may NOTIFY on any channel."""
    try:
        change = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(change, dict) or change.get("entity") not in ENTITIES or change.get("action") not in ACTIONS:
        return None
    if not all(isinstance(change.get(name), str) for name in ("id", "application_id")):
        return None
    return change


def _keys_of_change(change: dict) -> frozenset[Key]:
    own = (change["entity"], change["id"])
    if change["entity"] == "configuration" and change["action"] != "updated":
        return frozenset({own, ("application", change["application_id"])})  # its configuration_ids changed
    return frozenset({own})


def _keys_of_resource(current: "Current") -> frozenset[Key]:
    resource = json.loads(current.body)
    if "application_id" in resource:
        # The application too: its rename or deletion changes what a read by name finds.
        return frozenset({("configuration", resource["id"]), ("application", resource["application_id"])})
    return frozenset({("application", resource["id"])})


class Watchers:
    """The long-polls and event streams of this process."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._groups: dict[Read, _Group] = {}
        self._by_key: defaultdict[Key, set[_Group]] = defaultdict(set)
        self._streams: defaultdict[str, set[Stream]] = defaultdict(set)
        # The keys of the latest notifications, numbered, for a waiter that learns its keys late.
        self._recent: deque[tuple[int, frozenset[Key]]] = deque(maxlen=4096)
        self._sequence = 0
        self._tasks: set[asyncio.Task] = set()
        self.listening = False
        self.outages = 0  # times the listener lost its connection
        self.closed = False

    @property
    def waiting(self) -> int:
        """Long-polls waiting now."""
        return sum(len(group.waiters) for group in self._groups.values())

    @property
    def streaming(self) -> int:
        """Event streams open now."""
        return sum(len(streams) for streams in self._streams.values())

    # -- long-polls ---------------------------------------------------------------------------

    async def long_poll(self, read: Read, if_none_match: str, seconds: float) -> Response:
        """200 as soon as the resource's ETag is not `if_none_match`, 404 once it is gone, else 304
        when `seconds` have passed. While it waits it is a `Held` response (see `HeldResponses`)."""
        # Registered before the first read: a change committed after that read wakes this one.
        # (get() first: most long-polls join a group that exists, and need not build one.)
        group = self._groups.get(read) or self._groups.setdefault(read, _Group(read))
        waiter = asyncio.get_running_loop().create_future()
        group.waiters[waiter] = if_none_match
        sequence, outages = self._sequence, self.outages
        try:
            current = Current.of(await self._db.fetch_value(*read, idempotent=True))
        except BaseException:
            self._leave(group, waiter)
            raise
        if self.closed or not none_match(if_none_match, current.etag):
            self._leave(group, waiter)
            return current.response(if_none_match)
        keys = self._index(group, current)
        if self._notified_since(sequence, keys):
            # A change was announced between the registration and this read's keys: maybe
            # after the read's snapshot, so read again rather than wait on what may be stale.
            self._wake(group)
        return Held(self, group, waiter, if_none_match, seconds, current, outages)

    async def _answer(self, held: "Held") -> Response:
        group, waiter = held.group, held.waiter
        try:
            # Up to 1/16 longer, as Consul does: watchers of one change, which all asked again at
            # once, do not all time out in the same instant either.
            outcome = await asyncio.wait_for(waiter, held.seconds * (1 + random.random() / 16))
        except TimeoutError:
            outcome = TIMEOUT
        finally:
            self._leave(group, waiter)
        if isinstance(outcome, Current):
            return outcome.response(held.if_none_match)
        if isinstance(outcome, psycopg2.Error):
            raise from_database_error(outcome)  # P0002: deleted while waited on
        if outcome is TIMEOUT and (group.stale or not self.listening or self.outages != held.outages):
            # A change may have gone unheard or unread meanwhile: ask the database, not the listener.
            text = await self._db.fetch_value(*group.read, idempotent=True)
            return Current.of(text).response(held.if_none_match)
        return held.current.response(held.if_none_match)

    def _index(self, group: _Group, current: Current) -> frozenset[Key]:
        """File the group under what `current` names too: a name may come to mean another
        resource, so the keys of every version read stay until the group is forgotten (an
        extra wake costs one read). Each version is parsed once, however many wait on it."""
        if current.etag != group.keyed:
            keys = _keys_of_resource(current)
            for key in keys - group.keys:
                self._by_key[key].add(group)
            group.keys |= keys
            group.keyed = current.etag
        return group.keys

    def _notified_since(self, sequence: int, keys: frozenset[Key]) -> bool:
        if self._sequence == sequence:
            return False
        for number, named in reversed(self._recent):
            if number <= sequence:
                return False
            if named & keys:
                return True
        return True  # older than what is remembered: assume so

    def _leave(self, group: _Group, waiter: asyncio.Future) -> None:
        group.waiters.pop(waiter, None)
        self._forget_if_idle(group)

    def _forget_if_idle(self, group: _Group) -> None:
        if not group.waiters and not group.reading and self._groups.get(group.read) is group:
            del self._groups[group.read]
            for key in group.keys:
                self._by_key[key].discard(group)
                if not self._by_key[key]:
                    del self._by_key[key]

    def _wake(self, group: _Group) -> None:
        group.stale = True
        if group.reading:
            group.again = True  # the read under way may predate the change
            return
        group.reading = True
        task = asyncio.ensure_future(self._reread(group))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _reread(self, group: _Group) -> None:
        """Read the group's resource until a read starts after the last change announced, and
        answer every waiter whose ETag it no longer matches."""
        try:
            while group.waiters and not self.closed:
                group.again = False
                try:
                    outcome: Current | psycopg2.Error = Current.of(
                        await self._db.fetch_value(*group.read, idempotent=True)
                    )
                except (psycopg2.Error, PoolTimeout) as exc:
                    if getattr(exc, "pgcode", None) != "P0002":
                        # Stays stale: tried again shortly, and a wait that ends first reads for itself.
                        log.warning("watched resource not re-read, retrying: %s", str(exc).strip())
                        asyncio.get_running_loop().call_later(REREAD_RETRY_SECONDS, self._retry, group)
                        return
                    outcome = exc
                if isinstance(outcome, Current):
                    self._index(group, outcome)
                for waiter, if_none_match in list(group.waiters.items()):
                    changed = not isinstance(outcome, Current) or not none_match(if_none_match, outcome.etag)
                    if changed and not waiter.done():
                        waiter.set_result(outcome)
                if not group.again:
                    group.stale = False
                    return
        finally:
            group.reading = False
            self._forget_if_idle(group)

    def _retry(self, group: _Group) -> None:
        if group.waiters and group.stale and self._groups.get(group.read) is group:
            self._wake(group)

    # -- event streams -----------------------------------------------------------------------

    def subscribe(self, application_id: str) -> Stream:
        stream = Stream(application_id)
        self._streams[application_id].add(stream)
        if self.closed:
            self._send(stream, None)  # a stream opened as the server stops ends at once
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        streams = self._streams.get(stream.application_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._streams[stream.application_id]

    async def events(self, stream: Stream, application: str, heartbeat_seconds: float) -> AsyncIterator[str]:
        """The stream's text/event-stream: `subscribed` with the application's ETag as it was read
        (`application`), then its events as they come, and a comment when idle."""
        yield sse("subscribed", json.dumps({"application_id": stream.application_id, "etag": etag(application)}))
        while True:
            try:
                event = await asyncio.wait_for(stream.queue.get(), heartbeat_seconds)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is None:  # the application was deleted, or the server is stopping
                return
            yield event

    @staticmethod
    def _send(stream: Stream, event: str | None) -> None:
        try:
            stream.queue.put_nowait(event)
        except asyncio.QueueFull:
            # A client that does not read loses its backlog, and is told to read again.
            while not stream.queue.empty():
                stream.queue.get_nowait()
            stream.queue.put_nowait(RESYNC)
            if event is None:
                stream.queue.put_nowait(None)

    # -- from the listener ---------------------------------------------------------------------

    def notify(self, payload: str) -> None:
        change = _change(payload)
        if change is None:
            log.warning("ignored a notification on %s that is not a change: %.200r", CHANNEL, payload)
            return
        keys = _keys_of_change(change)
        application_id = change["application_id"]
        # Written again, so that it is one line whatever was sent.
        event = sse(change["action"], json.dumps(change, ensure_ascii=False))
        self._sequence += 1
        self._recent.append((self._sequence, keys))
        for key in keys:
            for group in list(self._by_key.get(key, ())):
                self._wake(group)
        for stream in list(self._streams.get(application_id, ())):
            self._send(stream, event)
            if change["entity"] == "application" and change["action"] == "deleted":
                self._send(stream, None)

    def connected(self) -> None:
        """The listener listens (again): whatever changed while it did not is read again."""
        self.listening = True
        for group in list(self._groups.values()):
            if group.keys:
                self._wake(group)
        for streams in list(self._streams.values()):
            for stream in list(streams):
                self._send(stream, RESYNC)

    def disconnected(self) -> None:
        self.listening = False
        self.outages += 1

    def close(self) -> None:
        """Answer every long-poll now (304) and end every stream: a stopping server waits for no one."""
        if self.closed:
            return
        self.closed = True
        for task in self._tasks:
            task.cancel()
        for group in list(self._groups.values()):
            for waiter in list(group.waiters):
                if not waiter.done():
                    waiter.set_result(CLOSED)
        for streams in list(self._streams.values()):
            for stream in list(streams):
                self._send(stream, None)


class Held(Response):
    """A long-poll that waits: what its route returns, answered by `HeldResponses` once the route,
    FastAPI and the inner middleware have returned.

    A request in the framework holds some twenty frames, exit stacks and the request's objects;
    held out here it holds a future and this, so that 10,000 watchers take little memory.
    """

    SCOPE_KEY = "appconfig.held"

    def __init__(
        self,
        watchers: Watchers,
        group: _Group,
        waiter: asyncio.Future,
        if_none_match: str,
        seconds: float,
        current: Current,
        outages: int,
    ) -> None:
        super().__init__(status_code=304)  # never sent: a Response only to pass through FastAPI
        self.watchers, self.group, self.waiter = watchers, group, waiter
        self.if_none_match, self.seconds, self.current, self.outages = if_none_match, seconds, current, outages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[self.SCOPE_KEY] = self  # nothing is sent yet: HeldResponses answers

    async def answer(self) -> Response:
        return await self.watchers._answer(self)


class HeldResponses:
    """ASGI middleware: answers the long-polls that the routes returned `Held`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        held = scope.pop(Held.SCOPE_KEY, None) if scope["type"] == "http" else None
        if held is None:
            return
        scope[UNTIMED] = True  # its duration is the client's wait
        # A client that goes away (a proxy's shorter timeout) stops waiting at once, not at its wait's end.
        gone = asyncio.ensure_future(self._until_disconnected(receive, held.waiter))
        try:
            response = await held.answer()
        except ApiError as error:
            response = problem_response(error)
        except (psycopg2.Error, PoolTimeout) as exc:
            response = database_problem(exc, scope["method"], scope["path"])
        finally:
            gone.cancel()
        await response(scope, receive, send)  # to a client gone, the server drops it

    @staticmethod
    async def _until_disconnected(receive: Receive, waiter: asyncio.Future) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not waiter.done():
            waiter.set_result(GONE)

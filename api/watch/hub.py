"""Watching resources: long-polls and event streams, woken by PostgreSQL's NOTIFY.

Every function that writes sends one notification on `appconfig_changes` when its
transaction commits (db/README.md), whoever called it: this process, another worker,
a DBA in psql. Each API process keeps one `Listener` (api.db.listener) outside the pool,
read from the event loop without a thread, and hands every notification to its
`Watchers`, which wake exactly the long-polls and streams of what it names.

A waiting long-poll holds no connection and no thread: a future in a group of the
waiters of the same read (the same gateway method, the same arguments). A notification makes the
group read once, and every waiter whose ETag that read no longer matches is answered
with it: 10,000 watchers of one configuration cost one query.

The change feed's long-polls (`changes_after`, api.watch.feed) wait for any change past their
cursor, and each reads the feed again when one comes.

Notifications are not stored (the revisions are: api.watch.streams replays them to a client
that comes back). When the listener's connection is lost, changes may be missed until it is
back: then every group and feed waiter reads again, and every stream catches up from the
revisions (api.watch.streams).
A long-poll whose wait ends while that may have happened reads again too, rather than
answering 304 on faith.
"""

import asyncio
import logging
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from api.etags import Current
from api.schema.errors import ApiError, NotFound
from api.watch import notifications, streams
from api.watch.admission import Admission
from api.watch.feed import FeedWaits
from api.watch.notifications import Key
from api.watch.streams import CATCH_UP, Stream

log = logging.getLogger(__name__)

MAX_WAIT_SECONDS = 300

# A read of one resource: a gateway method returning it (on the primary), and its arguments;
# equal reads share one group of waiters. Given an If-None-Match, the method may answer with the
# ETag alone (`Current.body` None) when the resource is still that version.
Read = tuple[Callable[..., Awaitable[Current]], tuple[Any, ...]]


# How a wait ends, besides with a new `Current` or the `NotFound` of a deleted resource.
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


# When a watched resource could not be read again (the pool busy, the database down).
REREAD_RETRY_SECONDS = 1.0


class Watchers:
    """The long-polls and event streams of this process."""

    def __init__(self, admission: Admission | None = None, *, skip_unwatched: bool = True) -> None:
        self.admission = admission or Admission(total=2**62, per_client=2**62)
        self._skip_unwatched = skip_unwatched
        self._groups: dict[Read, _Group] = {}
        self._by_key: defaultdict[Key, set[_Group]] = defaultdict(set)
        self._streams: defaultdict[str, set[Stream]] = defaultdict(set)
        # The keys of the latest notifications, numbered, for a waiter that learns its keys late.
        self._recent: deque[tuple[int, frozenset[Key]]] = deque(maxlen=4096)
        self._sequence = 0
        self._tasks: set[asyncio.Task] = set()
        self._feed = FeedWaits()
        self.listening = False
        self.outages = 0  # times the listener lost its connection
        self.closed = False

    @property
    def waiting(self) -> int:
        """Long-polls waiting now."""
        return sum(len(group.waiters) for group in self._groups.values()) + len(self._feed)

    @property
    def capacity(self) -> int:
        """Most watchers (long-polls and streams together) this process holds."""
        return self.admission.total

    @property
    def streaming(self) -> int:
        """Event streams open now."""
        return sum(len(streams) for streams in self._streams.values())

    # -- long-polls ---------------------------------------------------------------------------

    async def long_poll(self, read: Read, if_none_match: str, seconds: float, client: str = "") -> "Current | Wait":
        """The resource now, when its ETag is not `if_none_match` (or the hub is closing); else a
        `Wait`, which answers with it as soon as it changes, `NotFound` once it is gone, or the
        same version when `seconds` have passed. `Full` when `client` may hold no more watchers."""
        self.admission.take(client)
        try:
            outcome = await self._long_poll(read, if_none_match, seconds, client)
        except BaseException:
            self.admission.give_back(client)
            raise
        if isinstance(outcome, Current):
            self.admission.give_back(client)
        return outcome

    async def _long_poll(self, read: Read, if_none_match: str, seconds: float, client: str) -> "Current | Wait":
        # Registered before the first read: a change committed after that read wakes this one.
        # (get() first: most long-polls join a group that exists, and need not build one.)
        group = self._groups.get(read) or self._groups.setdefault(read, _Group(read))
        waiter = asyncio.get_running_loop().create_future()
        group.waiters[waiter] = if_none_match
        sequence = self._sequence
        try:
            current = await _fetch(read, _unless(group, if_none_match))
        except BaseException:
            self._leave(group, waiter)
            raise
        if self.closed or not current.matches(if_none_match):
            self._leave(group, waiter)
            return current
        keys = self._index(group, current)
        if self._notified_since(sequence, keys):
            # A change was announced between the registration and this read's keys: maybe
            # after the read's snapshot, so read again rather than wait on what may be stale.
            self._wake(group)
        return Wait(self, group, waiter, if_none_match, seconds, current, client)

    async def _answer(self, wait: "Wait") -> Current:
        group, waiter = wait.group, wait.waiter
        try:
            # Up to 1/16 longer, as Consul does: watchers of one change, which all asked again at
            # once, do not all time out in the same instant either.
            outcome = await asyncio.wait_for(waiter, wait.seconds * (1 + random.random() / 16))
        except TimeoutError:
            outcome = TIMEOUT
        finally:
            wait.release()
        if isinstance(outcome, Current):
            return outcome
        if isinstance(outcome, NotFound):  # deleted while waited on: each waiter raises its own
            raise NotFound(outcome.detail, sqlstate=outcome.sqlstate)
        if outcome is GONE:
            return wait.current  # no one to answer
        # The wait ended (its time, or the hub closing) with no change heard. One may have gone
        # unheard or unread (the listener away, a writer with triggers off): the database says,
        # without the body when there was none.
        return await _fetch(group.read, wait.if_none_match)

    def _index(self, group: _Group, current: Current) -> frozenset[Key]:
        """File the group under what `current` names too: a name may come to mean another
        resource, so the keys of every version read stay until the group is forgotten (an
        extra wake costs one read). Each version is parsed once, however many wait on it."""
        if current.etag != group.keyed:
            keys = notifications.keys_of_resource(current.body)
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
                tags = set(group.waiters.values())
                try:
                    outcome: Current | NotFound = await _fetch(group.read, _unless(group, *tags))
                except NotFound as exc:
                    outcome = exc
                except ApiError:
                    # Stays stale (the gateway has logged why): tried again shortly, and a wait
                    # that ends first reads for itself.
                    asyncio.get_running_loop().call_later(REREAD_RETRY_SECONDS, self._retry, group)
                    return
                if isinstance(outcome, Current):
                    self._index(group, outcome)
                for waiter, if_none_match in list(group.waiters.items()):
                    changed = not isinstance(outcome, Current) or not outcome.matches(if_none_match)
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

    # -- the change feed ---------------------------------------------------------------------

    async def changes_after(self, after: int, read: Callable[[], Awaitable[str]], seconds: float, client: str) -> str:
        """The change feed after revision `after` (api.watch.feed); `Full` when `client` may hold no more watchers."""
        self.admission.take(client)
        try:
            return await self._feed.changes_after(after, read, seconds, lambda: self.closed)
        finally:
            self.admission.give_back(client)

    # -- event streams -----------------------------------------------------------------------

    def subscribe(self, application_id: str, client: str = "") -> Stream:
        """A stream of the application's events for `client`; `Full` when it may hold no more watchers."""
        self.admission.take(client)
        stream = Stream(application_id, client)
        self._streams[application_id].add(stream)
        if self.closed:
            streams.send(stream, None)  # a stream opened as the server stops ends at once
        return stream

    def unsubscribe(self, stream: Stream) -> None:
        subscribed = self._streams.get(stream.application_id)
        if subscribed is not None and stream in subscribed:
            self.admission.give_back(stream.client)
            subscribed.discard(stream)
            if not subscribed:
                del self._streams[stream.application_id]

    # -- from the listener ---------------------------------------------------------------------

    def notify(self, payload: str) -> None:
        if self._skip_unwatched and not (self._groups or self._streams or self._feed):
            # No one to wake, and whoever watches later reads after this change. Not parsing it
            # saves every write some CPU (docs/performance.md, skip_unwatched).
            return
        change = notifications.parse(payload)
        if change is None:
            log.warning("ignored a notification that is not a change: %.200r", payload)
            return
        keys = change.keys()
        self._sequence += 1
        self._recent.append((self._sequence, keys))
        for key in keys:
            for group in list(self._by_key.get(key, ())):
                self._wake(group)
        subscribed = list(self._streams.get(change.application_id, ()))
        if subscribed:
            event = streams.change_event(change)
            for stream in subscribed:
                streams.send(stream, event)
                if streams.ends(change):
                    streams.send(stream, None)
        self._feed.wake(change.revision)

    def connected(self) -> None:
        """The listener listens (again): whatever changed while it did not is read again."""
        self.listening = True
        for group in list(self._groups.values()):
            if group.keys:
                self._wake(group)
        for subscribed in list(self._streams.values()):
            for stream in list(subscribed):
                streams.send(stream, CATCH_UP)
        self._feed.wake()

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
        for subscribed in list(self._streams.values()):
            for stream in list(subscribed):
                streams.send(stream, None)
        self._feed.wake()


class Wait:
    """A long-poll that waits: `answer()` returns the resource once it changes or the wait ends.

    The HTTP layer holds it outside the framework (api.http.middleware.held), so that a waiting
    request holds a future and this rather than the framework's frames and objects.
    """

    __slots__ = ("client", "current", "group", "hub", "if_none_match", "seconds", "waiter")

    def __init__(
        self,
        hub: Watchers,
        group: _Group,
        waiter: asyncio.Future,
        if_none_match: str,
        seconds: float,
        current: Current,
        client: str,
    ) -> None:
        self.hub, self.group, self.waiter, self.client = hub, group, waiter, client
        self.if_none_match, self.seconds, self.current = if_none_match, seconds, current

    async def answer(self) -> Current:
        return await self.hub._answer(self)

    def release(self) -> None:
        """Leave the group and give the watcher's place back; once, however the wait ended (an
        answer, or the request failing before it was answered)."""
        if self.group is not None:
            self.hub._leave(self.group, self.waiter)
            self.hub.admission.give_back(self.client)
            self.group = None

    def abandon(self) -> None:
        """The client went away: stop waiting now."""
        if not self.waiter.done():
            self.waiter.set_result(GONE)


async def _fetch(read: Read, if_none_match: str | None = None) -> Current:
    method, args = read
    return await method(*args, if_none_match=if_none_match)


def _unless(group: _Group, *tags: str) -> str | None:
    """The If-None-Match to read `group`'s resource with: the one tag its waiters hold when the
    keys of that version are filed already; then an unchanged resource is answered without its
    body, which no one needs. Else None: the body, to file the keys or for some waiter's 200."""
    if len(tags) == 1 and tags[0] == group.keyed:
        return tags[0]
    return None

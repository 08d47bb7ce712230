"""The watchers alone, with a scripted database: the races and failures a live server rarely shows."""

import asyncio
import json

import pytest

from api.etags import Current, etag
from api.schema.errors import ServiceUnavailable
from api.watch import hub
from api.watch.hub import Watchers

APP_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def status(current: Current, if_none_match: str) -> int:
    """What the HTTP layer answers with `current`: 304 when If-None-Match still matches."""
    return 304 if current.matches(if_none_match) else 200


def application(name: str) -> str:
    return json.dumps({"id": APP_ID, "name": name, "comments": None, "configuration_ids": []})


ETAG = '"' + "0" * 32 + '"'


def change(action: str = "updated", **fields) -> str:
    """A notification as app_private.revision_record sends it, with `fields` changed."""
    etag = {} if action == "deleted" else {"etag": ETAG}
    return json.dumps(
        {"revision": 1, "entity": "application", "action": action, "id": APP_ID, "application_id": APP_ID}
        | etag
        | fields
    )


class ScriptedStore:
    """Answers each read with the next of `answers` (an exception is raised), after `before_answer(n)`."""

    def __init__(self, *answers, before_answer=lambda n: None) -> None:
        self.answers = list(answers)
        self.before_answer = before_answer
        self.reads = 0

    async def app_get(self, application_id, *, if_none_match=None):
        self.reads += 1
        self.before_answer(self.reads)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return Current.of(answer)


def test_a_change_announced_while_a_first_read_runs_is_read_again_even_if_another_waiter_filed_the_group():
    old, new = application("old"), application("new")

    class Store:
        """The first read is slow and sees the old version; every later read the new one."""

        def __init__(self) -> None:
            self.release_first = asyncio.Event()
            self.reads = 0

        async def app_get(self, application_id, *, if_none_match=None):
            self.reads += 1
            if self.reads == 1:
                await self.release_first.wait()
                return Current.of(old)
            return Current.of(new)

    async def scenario() -> tuple[int, bool]:
        db = Store()
        read = (db.app_get, (APP_ID,))
        watchers = Watchers()
        first = asyncio.create_task(watchers.long_poll(read, etag(old), 30))
        await asyncio.sleep(0)  # registered; its read under way
        watchers.notify(change())  # committed after that read's snapshot
        second = await watchers.long_poll(read, etag(new), 30)  # already current: it files the group
        db.release_first.set()
        held = await first
        answer = await asyncio.wait_for(held.answer(), 2)
        return status(answer, etag(old)), second.waiter.done()

    # The first is answered with the new version; the second, current, waits on.
    assert asyncio.run(scenario()) == (200, False)


def test_a_reread_that_fails_is_retried_and_a_wait_ending_first_reads_for_itself(monkeypatch):
    monkeypatch.setattr(hub, "REREAD_RETRY_SECONDS", 0.05)
    old, new = application("old"), application("new")

    async def scenario() -> list[int]:
        db = ScriptedStore(old, ServiceUnavailable("busy"), new)
        watchers = Watchers()
        watchers.listening = True
        held = await watchers.long_poll((db.app_get, (APP_ID,)), etag(old), 30)
        watchers.notify(change())
        retried = await asyncio.wait_for(held.answer(), 2)  # the failed re-read, then its retry

        # A wait that ends while the group is stale does not answer 304 on faith.
        db = ScriptedStore(old, ServiceUnavailable("busy"), new)
        watchers = Watchers()
        watchers.listening = True
        monkeypatch.setattr(hub, "REREAD_RETRY_SECONDS", 60)
        held = await watchers.long_poll((db.app_get, (APP_ID,)), etag(old), 0.2)
        watchers.notify(change())
        timed_out = await held.answer()
        assert db.reads == 3
        return [status(retried, etag(old)), status(timed_out, etag(old))]

    assert asyncio.run(scenario()) == [200, 200]


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", '{"entity": "application"}', change(id=7), change(action="renamed\nevent: x"), change()[:-1]],
)
def test_what_is_not_a_change_is_ignored_and_an_event_is_one_line_whatever_was_sent(payload):
    async def scenario() -> list:
        watchers = Watchers()
        stream = watchers.subscribe(APP_ID)
        watchers.notify(payload)
        watchers.notify(change().replace(", ", ",\n  "))  # a change, spread over lines
        return [stream.queue.get_nowait() for _ in range(stream.queue.qsize())]

    [(revision, event)] = asyncio.run(scenario())
    assert revision == 1 and event.count("\n") == 4 and event.startswith("id: 1\nevent: updated\ndata: {")


@pytest.mark.parametrize("skip_unwatched", [True, False])
def test_a_notification_is_read_only_while_something_watches(monkeypatch, skip_unwatched):
    parsed = []
    monkeypatch.setattr(hub.notifications, "parse", lambda payload: parsed.append(payload))

    async def scenario() -> None:
        watchers = Watchers(skip_unwatched=skip_unwatched)
        watchers.notify("while no one watches")
        stream = watchers.subscribe(APP_ID)
        watchers.notify("to a stream")
        watchers.unsubscribe(stream)
        watchers.notify("after it left")

    asyncio.run(scenario())
    assert parsed == (["to a stream"] if skip_unwatched else ["while no one watches", "to a stream", "after it left"])

"""The watchers alone, with a scripted database: the races and failures a live server rarely shows."""

import asyncio
import json

import pytest

from api import watch
from api.database import PoolTimeout
from api.etags import etag
from api.routes.events import EventStream
from api.watch import Watchers

APP_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
READ = ("SELECT app_get(%s)", (APP_ID,))


def application(name: str) -> str:
    return json.dumps({"id": APP_ID, "name": name, "comments": None, "configuration_ids": []})


def change(action: str = "updated", **fields) -> str:
    return json.dumps({"entity": "application", "action": action, "id": APP_ID, "application_id": APP_ID} | fields)


class ScriptedDatabase:
    """Answers each read with the next of `answers` (an exception is raised), after `before_answer(n)`."""

    def __init__(self, *answers, before_answer=lambda n: None) -> None:
        self.answers = list(answers)
        self.before_answer = before_answer
        self.reads = 0

    async def fetch_value(self, statement, params=(), *, idempotent=False):
        self.reads += 1
        self.before_answer(self.reads)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_a_change_announced_while_a_first_read_runs_is_read_again_even_if_another_waiter_filed_the_group():
    old, new = application("old"), application("new")

    class Database:
        """The first read is slow and sees the old version; every later read the new one."""

        def __init__(self) -> None:
            self.release_first = asyncio.Event()
            self.reads = 0

        async def fetch_value(self, statement, params=(), *, idempotent=False):
            self.reads += 1
            if self.reads == 1:
                await self.release_first.wait()
                return old
            return new

    async def scenario() -> tuple[int, bool]:
        db = Database()
        watchers = Watchers(db)
        first = asyncio.create_task(watchers.long_poll(READ, etag(old), 30))
        await asyncio.sleep(0)  # registered; its read under way
        watchers.notify(change())  # committed after that read's snapshot
        second = await watchers.long_poll(READ, etag(new), 30)  # already current: it files the group
        db.release_first.set()
        held = await first
        response = await asyncio.wait_for(held.answer(), 2)
        return response.status_code, second.waiter.done()

    # The first is answered with the new version; the second, current, waits on.
    assert asyncio.run(scenario()) == (200, False)


def test_a_reread_that_fails_is_retried_and_a_wait_ending_first_reads_for_itself(monkeypatch):
    monkeypatch.setattr(watch, "REREAD_RETRY_SECONDS", 0.05)
    old, new = application("old"), application("new")

    async def scenario() -> list[int]:
        db = ScriptedDatabase(old, PoolTimeout("busy"), new)
        watchers = Watchers(db)
        watchers.listening = True
        held = await watchers.long_poll(READ, etag(old), 30)
        watchers.notify(change())
        retried = await asyncio.wait_for(held.answer(), 2)  # the failed re-read, then its retry

        # A wait that ends while the group is stale does not answer 304 on faith.
        db = ScriptedDatabase(old, PoolTimeout("busy"), new)
        watchers = Watchers(db)
        watchers.listening = True
        monkeypatch.setattr(watch, "REREAD_RETRY_SECONDS", 60)
        held = await watchers.long_poll(READ, etag(old), 0.2)
        watchers.notify(change())
        timed_out = await held.answer()
        assert db.reads == 3
        return [retried.status_code, timed_out.status_code]

    assert asyncio.run(scenario()) == [200, 200]


@pytest.mark.parametrize(
    "payload",
    ["not json", "[]", '{"entity": "application"}', change(id=7), change(action="renamed\nevent: x"), change()[:-1]],
)
def test_what_is_not_a_change_is_ignored_and_an_event_is_one_line_whatever_was_sent(payload):
    async def scenario() -> list:
        watchers = Watchers(ScriptedDatabase(application("x")))
        stream = watchers.subscribe(APP_ID)
        watchers.notify(payload)
        watchers.notify(change().replace(", ", ",\n  "))  # a change, spread over lines
        return [stream.queue.get_nowait() for _ in range(stream.queue.qsize())]

    [event] = asyncio.run(scenario())
    assert event.count("\n") == 3 and event.startswith("event: updated\ndata: {")


def test_a_stream_ends_its_subscription_also_when_the_client_left_before_its_first_byte():
    async def scenario() -> tuple[int, object]:
        watchers = Watchers(ScriptedDatabase(application("x")))
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

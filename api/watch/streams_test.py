"""An event stream sends each change once, in revision order, and catches up from the revisions
when it may have missed some."""

import asyncio
import json

from api.watch import streams
from api.watch.notifications import Change
from api.watch.streams import CATCH_UP, MAX_QUEUED_EVENTS, RESYNC, Replay, Stream

APP = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
TAG = '"' + "ab" * 16 + '"'
APPLICATION = json.dumps({"id": APP, "name": "x", "comments": None, "configuration_ids": []})


def change(revision: int, action: str = "updated") -> Change:
    return Change(revision, "application", action, APP, APP, None if action == "deleted" else TAG)


def run(stream: Stream, catch_up, replay: Replay | None = None, start: int = 10) -> list[str]:
    """What the stream sends until it ends (None queued last)."""

    async def collect() -> list[str]:
        return [text async for text in streams.events(stream, APPLICATION, 60, start, catch_up, replay)]

    return asyncio.run(collect())


def ids(texts: list[str]) -> list[int]:
    return [int(text.split("\n", 1)[0].removeprefix("id: ")) for text in texts if text.startswith("id: ")]


def test_a_slow_reader_drops_its_backlog_and_catches_up_from_the_revisions_each_change_once():
    stream = Stream(APP)
    for revision in range(11, 12 + MAX_QUEUED_EVENTS):
        streams.send(stream, streams.change_event(change(revision)))
    assert stream.queue.qsize() == 1 and stream.queue.get_nowait() is CATCH_UP
    streams.send(stream, CATCH_UP)
    streams.send(stream, streams.change_event(change(13)))  # live, and read again by the catch-up
    streams.send(stream, streams.change_event(change(14)))
    streams.send(stream, None)
    asked: list[int] = []

    async def catch_up(after: int) -> Replay:
        asked.append(after)
        return Replay((change(11), change(12), change(13)))

    sent = run(stream, catch_up)

    assert asked == [10]
    assert sent[0].startswith("retry: 2000\nid: 10\nevent: subscribed\n")
    assert ids(sent[1:]) == [11, 12, 13, 14]


def test_what_cannot_be_caught_up_is_a_resync_and_the_stream_goes_on_from_now():
    stream = Stream(APP)
    streams.send(stream, CATCH_UP)
    streams.send(stream, streams.change_event(change(15)))  # before what the client reads again: dropped
    streams.send(stream, streams.change_event(change(21)))
    streams.send(stream, None)

    async def catch_up(after: int) -> Replay:
        return Replay(missed=True, resume_at=20)

    sent = run(stream, catch_up)

    assert sent[1].startswith("id: 20\nevent: resync\n")  # the client's next reconnect resumes from there
    assert ids(sent[1:]) == [20, 21]


def test_a_catch_up_the_database_cannot_answer_is_a_resync_and_the_stream_goes_on_as_before():
    stream = Stream(APP)
    streams.send(stream, CATCH_UP)
    streams.send(stream, streams.change_event(change(11)))
    streams.send(stream, None)

    async def catch_up(after: int) -> Replay:
        return Replay(missed=True)

    sent = run(stream, catch_up)

    assert sent[1] == RESYNC and ids(sent[1:]) == [11]


def test_a_forged_revision_cannot_silence_the_changes_after_it():
    stream = Stream(APP)
    streams.send(stream, streams.change_event(change(2**53)))  # any role may NOTIFY this
    streams.send(stream, streams.change_event(change(11)))
    streams.send(stream, streams.change_event(change(12)))
    streams.send(stream, None)

    assert ids(run(stream, None)[1:]) == [2**53, 11, 12]


def test_a_returning_client_gets_what_it_missed_then_the_live_changes_and_the_end_at_a_deletion():
    stream = Stream(APP)
    streams.send(stream, streams.change_event(change(12)))  # also replayed: once
    streams.send(stream, streams.change_event(change(13, "deleted")))
    streams.send(stream, None)

    sent = run(stream, None, Replay((change(11), change(12))), start=10)

    assert "id: " not in sent[0]  # a returning client's last id stays as it was
    assert ids(sent) == [11, 12, 13] and sent[-1].startswith("id: 13\nevent: deleted\n")

    ended = Stream(APP)
    streams.send(ended, streams.change_event(change(14)))
    assert ids(run(ended, None, Replay((change(11), change(12, "deleted"))))) == [11, 12]  # nothing after the end

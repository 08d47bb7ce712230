"""A held long-poll keeps what its wait needs, not the request's head."""

import asyncio

import pytest

from api.etags import Current
from api.http.middleware.held import Held, HeldResponses


class _Wait:
    """Stands for the hub's Wait: records the request's headers as they are while it waits."""

    if_none_match = '"a"'

    def __init__(self, scope: dict) -> None:
        self.scope, self.headers_while_waiting = scope, None

    async def answer(self) -> Current:
        self.headers_while_waiting = list(self.scope["headers"])
        return Current(b"{}", '"b"')

    def abandon(self) -> None:
        pass


def test_a_held_request_lets_go_of_its_head_while_it_waits():
    scope = {"type": "http", "method": "GET", "headers": [(b"if-none-match", b'"a"' + b" " * 30_000)]}
    wait = _Wait(scope)
    sent: list[dict] = []

    async def route(scope: dict, receive, send) -> None:
        await Held(wait)(scope, receive, send)

    async def receive() -> dict:
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(HeldResponses(route)(scope, receive, send))

    assert wait.headers_while_waiting == []
    assert sent[0]["status"] == 200


def test_a_wait_that_will_never_be_answered_gives_its_place_back():
    released = []

    class Failing:
        if_none_match = '"a"'

        def release(self) -> None:
            released.append(True)

    async def route(scope: dict, receive, send) -> None:
        await Held(Failing())(scope, receive, send)
        raise RuntimeError("after the route returned")

    async def nothing(*args) -> None:
        pass

    scope = {"type": "http", "method": "GET", "headers": []}
    with pytest.raises(RuntimeError):
        asyncio.run(HeldResponses(route)(scope, nothing, nothing))

    assert released == [True] and Held.SCOPE_KEY not in scope

"""Long-polls held outside the framework: a route returns `Held`, and `HeldResponses` answers it.

A request in the framework holds some twenty frames, exit stacks and the request's objects;
held out here it holds a future and the hub's `Wait`, so that 10,000 watchers take little memory.
"""

import asyncio

from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.http.problems import problem_response
from api.http.responses import resource_response
from api.observability.metrics import UNTIMED
from api.schema.errors import ApiError
from api.watch.hub import Wait


class Held(Response):
    """What a long-poll's route returns while the resource is unchanged: nothing is sent yet."""

    SCOPE_KEY = "appconfig.held"

    def __init__(self, wait: Wait) -> None:
        super().__init__(status_code=304)  # never sent: a Response only to pass through FastAPI
        self.wait = wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[self.SCOPE_KEY] = self.wait  # HeldResponses answers once the route has returned


class HeldResponses:
    """ASGI middleware: answers the long-polls that the routes returned `Held`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        except BaseException:
            wait = scope.pop(Held.SCOPE_KEY, None) if scope["type"] == "http" else None
            if wait is not None:
                wait.release()  # never to be answered: its place goes back now
            raise
        wait = scope.pop(Held.SCOPE_KEY, None) if scope["type"] == "http" else None
        if wait is None:
            return
        scope[UNTIMED] = True  # its duration is the client's wait
        # What the wait needs of the request (its If-None-Match) the hub holds; the request's head
        # is not needed again, and is not kept for as long as the client waits.
        scope["headers"] = []
        # A client that goes away (a proxy's shorter timeout) stops waiting at once, not at its wait's end.
        gone = asyncio.ensure_future(self._until_disconnected(receive, wait))
        try:
            response = resource_response(await wait.answer(), wait.if_none_match)
        except ApiError as error:
            response = problem_response(error)
        finally:
            gone.cancel()
        await response(scope, receive, send)  # to a client gone, the server drops it

    @staticmethod
    async def _until_disconnected(receive: Receive, wait: Wait) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        wait.abandon()

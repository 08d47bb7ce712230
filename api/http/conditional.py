"""Conditional requests on one resource (RFC 9110 §13), for the routes.

Every answer that carries one application or configuration has its ETag; a GET whose
If-None-Match matches is a 304 without a body, or with `wait` a long-poll (api.watch)
that answers when the resource changes; a write's If-Match goes to the function,
which compares it under the row lock (SQLSTATE PT412) so that of concurrent writers with
the same tag exactly one succeeds. The 412 carries the current ETag (api.db.gateway).
"""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import Field, TypeAdapter, ValidationError

from api.db.gateway import Store
from api.etags import Current
from api.http.middleware.held import Held
from api.http.responses import resource_response
from api.watch.hub import MAX_WAIT_SECONDS

# A gateway method that reads one resource (Store.config_get, ...), given the store first.
ReadOne = Callable[..., Awaitable[Current]]

# Declared for the OpenAPI document; a handler reads them with `preconditions()`, which takes every line.
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        description="Write only if the resource's current ETag is one of these (strong comparison); `*`: if it exists.",
    ),
]
IfNoneMatchOnWrite = Annotated[
    str | None,
    Header(
        alias="If-None-Match",
        description="Write only if the resource's current ETag is none of these (weak comparison); `*`: only if "
        "it does not exist, which on a PUT or DELETE of an existing resource means never (412).",
    ),
]

# A GET's If-None-Match and `wait` are read from the request by `get`, not declared as
# parameters: FastAPI 0.116 inspects each declared parameter's type on every request, which
# cost a third of a GET's time in the event loop (95 against 62 µs measured). They are
# documented here instead, and `wait` is validated as FastAPI would (400, loc query.wait).
_WAIT_SECONDS = TypeAdapter(Annotated[float, Field(ge=1, le=MAX_WAIT_SECONDS)])
GET_PARAMETERS = {
    "parameters": [
        {
            "name": "wait",
            "in": "query",
            "required": False,
            "schema": {"type": "number", "minimum": 1, "maximum": MAX_WAIT_SECONDS, "title": "Wait"},
            "description": f"With `If-None-Match`: while the ETag still matches, hold the answer up to this many "
            f"seconds (1-{MAX_WAIT_SECONDS}) until the resource changes (200) or is deleted (404); 304 when the "
            "wait ends first. Without `If-None-Match` it changes nothing.",
        },
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "title": "If-None-Match"},
            "description": "Answer 304 without a body if the current ETag is one of these.",
        },
    ]
}


async def get(request: Request, read: ReadOne, *args: Any) -> Response:
    """A GET of one resource by `read` (an unbound Store method) with `args`: 304 when the client's
    copy is current, a long-poll on the primary when it asks to wait.

    A plain function rather than a dependency: FastAPI 0.116 inspects each dependency on every request.
    """
    if_none_match = every_line(request, "if-none-match")
    wait = wait_of(request)
    state = request.app.state
    store: Store = state.store
    if wait is None or if_none_match is None:
        return resource_response(await read(store, *args, if_none_match=if_none_match), if_none_match)
    # The same method of the gateway whose reads all go to the primary: a waiter must not be
    # answered from a standby that has not seen the change that woke it.
    read_fresh = (getattr(store.fresh, read.__name__), args)
    outcome = await state.watchers.long_poll(read_fresh, if_none_match, wait, client_address(request))
    if isinstance(outcome, Current):
        return resource_response(outcome, if_none_match)
    if not state.settings.trick("held_response"):  # only to measure what holding it outside buys
        return resource_response(await outcome.answer(), if_none_match)
    return Held(outcome)


def client_address(request: Request) -> str:
    """The address the request came from, as the watchers' admission counts it per client."""
    client = request.scope.get("client")
    return client[0] if client else ""


def every_line(request: Request, name: str) -> str | None:
    """A header sent on several lines, as the one comma-separated list it is (RFC 9110 5.3)."""
    lines = request.headers.getlist(name)
    if len(lines) < 2:  # nearly always: no list to make
        return lines[0] if lines else None
    return ", ".join(lines)


def preconditions(request: Request) -> tuple[str | None, str | None]:
    """A write's If-Match and If-None-Match, every line of each; None for one it did not send. The
    function compares them with the resource under its row lock, atomically with the write."""
    return every_line(request, "if-match"), every_line(request, "if-none-match")


def wait_of(request: Request) -> float | None:
    """The request's `wait`, or None; 400 when it is not a number of seconds from 1 to the most."""
    if not request.scope["query_string"]:  # nearly always: no query to parse
        return None
    text = request.query_params.get("wait")
    if text is None:
        return None
    try:
        return _WAIT_SECONDS.validate_python(text)
    except ValidationError as exc:
        raise RequestValidationError([error | {"loc": ("query", "wait")} for error in exc.errors()]) from None

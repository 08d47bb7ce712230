"""/changes: every change after a revision, in commit order, and a long-poll for the next ones."""

import asyncio
import json
from collections.abc import Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http.conditional import client_address
from api.http.openapi import problems
from api.http.paths import path_to
from api.http.responses import JsonText
from api.http.routes.listing import DEFAULT_PAGE, MAX_PAGE
from api.http.routing import store
from api.observability.metrics import UNTIMED
from api.schema.history import MAX_REVISION, Change
from api.watch.hub import MAX_WAIT_SECONDS

router = APIRouter(tags=["watch"])

After = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_REVISION,
        description="The last revision already read: only the changes after it. Without it, from the oldest kept.",
    ),
]
ChangesLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"At most this many changes (1-{MAX_PAGE}).")]
Wait = Annotated[
    float | None,
    Query(
        ge=1,
        le=MAX_WAIT_SECONDS,
        description=f"When there is no change after `after` yet, hold the answer up to this many seconds "
        f"(1-{MAX_WAIT_SECONDS}) until there is; `[]` when none came.",
    ),
]

NEXT = {
    "Link": {
        "description": '`<…?after=N&limit=L>; rel="next"`, N the last revision of this page (or the `after` '
        "asked for, when it is empty): where to go on from. Absent only when the feed is empty and no "
        "`after` was given.",
        "schema": {"type": "string"},
    }
}


@router.get(
    "/changes",
    response_model=list[Change],
    responses={200: {"headers": NEXT}}
    | problems(
        400,
        410,
        503,
        s410="Changes after `after` have been pruned, or it is a revision this database never reached "
        "(SQLSTATE PT410): read the resources again, then follow on from the revision they are at",
    ),
)
async def list_changes(
    request: Request, after: After = None, limit: ChangesLimit = DEFAULT_PAGE, wait: Wait = None
) -> Response:
    """Every change to applications and configurations after revision `after`, in revision order, made
    through the API or in psql: none is ever skipped or repeated for a client that asks again after
    the last revision it read (the `Link`), even while transactions commit out of the order they began.
    With `wait`, an empty answer is held until a change comes (a long-poll).

    Changes are kept as revisions are (7 days, and the newest 100 of each resource, by default): a
    cursor older than that is a 410."""
    gateway = store(request)

    async def read() -> str:
        return await gateway.change_list(after, limit)

    page = await read()
    if page == "[]" and wait is not None:
        request.scope[UNTIMED] = True  # its duration is the client's wait
        waiting = request.app.state.watchers.changes_after(after or 0, read, wait, client_address(request))
        page = await _unless_gone(request, waiting)
    changes = json.loads(page) if page != "[]" else []
    last = changes[-1]["revision"] if changes else after
    headers = {}
    if last is not None:
        headers["Link"] = (
            f'<{path_to(request, "list_changes")}?{urlencode({"after": last, "limit": limit})}>; rel="next"'
        )
    return JsonText(page, headers=headers)


async def _unless_gone(request: Request, waiting: Coroutine[Any, Any, str]) -> str:
    """`waiting`'s answer; cancelled as soon as the client goes away, so that it gives its place
    back then rather than when its wait ends (nobody reads what is answered then)."""
    answer = asyncio.ensure_future(waiting)
    gone = asyncio.ensure_future(_disconnected(request))
    try:
        await asyncio.wait({answer, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not answer.done():
            answer.cancel()
            await asyncio.gather(answer, return_exceptions=True)  # its place given back
    if answer.cancelled():
        return "[]"
    return answer.result()


async def _disconnected(request: Request) -> None:
    """Returns once the client has gone (a GET's body, empty, is all it ever sends before that)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass

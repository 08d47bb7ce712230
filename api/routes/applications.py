"""/applications: create, replace, read and list applications."""

import json
from collections.abc import AsyncIterator
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from api import ids
from api.database import Database
from api.deps import Db, JsonBody
from api.models import Application, ApplicationIn, ApplicationSummary, UlidText
from api.openapi import created, problems
from api.routes import JsonText

router = APIRouter(prefix="/applications", tags=["applications"])

# Rows per database call while streaming the whole list: large enough that the
# round trips do not dominate, small enough that a page is about a megabyte.
LIST_CHUNK = 10_000
MAX_PAGE = 1000

Limit = Annotated[
    int | None,
    Query(ge=1, le=MAX_PAGE, description=f"Page size (1-{MAX_PAGE}). Without it every application is returned."),
]
LINK = {
    "Link": {
        "description": "With `limit`, while more applications follow: "
        '`</api/v1/applications?limit=N&after=ID>; rel="next"` (a relative reference).',
        "schema": {"type": "string"},
    }
}
After = Annotated[UlidText | None, Query(description="Return the applications after this id (keyset pagination).")]


@router.post(
    "",
    status_code=201,
    response_model=Application,
    responses=created("application") | problems(400, 409, 413, 415, 503),
    dependencies=[JsonBody],
)
async def create_application(body: ApplicationIn, db: Db, request: Request) -> JsonText:
    """Create an application; its name must be unique."""
    new_id = ids.new_id()
    text = await db.fetch_value("SELECT app_create(%s, %s, %s)", (body.name, body.comments, new_id))
    location = request.app.url_path_for("get_application", application_id=new_id)
    return JsonText(text, status_code=201, headers={"Location": location})


@router.put(
    "/{application_id}",
    response_model=Application,
    responses=problems(400, 404, 409, 413, 415, 503),
    dependencies=[JsonBody],
)
async def replace_application(application_id: UlidText, body: ApplicationIn, db: Db) -> JsonText:
    """Replace an application's name and comments (omitted comments become null)."""
    text = await db.fetch_value("SELECT app_update(%s, %s, %s)", (application_id, body.name, body.comments))
    return JsonText(text)


@router.get("/{application_id}", response_model=Application, responses=problems(400, 404, 503))
async def get_application(application_id: UlidText, db: Db) -> JsonText:
    """An application with the ids of its configurations, in creation order."""
    return JsonText(await db.fetch_value("SELECT app_get(%s)", (application_id,), idempotent=True))


@router.get(
    "",
    response_model=list[ApplicationSummary],
    responses={200: {"headers": LINK}} | problems(400, 503),
)
async def list_applications(db: Db, request: Request, limit: Limit = None, after: After = None) -> Response:
    """Applications ordered by id: all of them, streamed, or one page when `limit` is given.

    A page that is followed by more applications carries a `Link: <…>; rel="next"` header.
    """
    if limit is None:
        first = await db.fetch_value("SELECT app_list_page(%s, %s)", (after, LIST_CHUNK), idempotent=True)
        return StreamingResponse(_stream(db, first), media_type="application/json")

    rows = await db.fetch_values("SELECT app_list(%s, %s)", (after, limit + 1), idempotent=True)
    headers = {}
    if len(rows) > limit:
        rows = rows[:limit]
        # A relative reference (RFC 8288 allows it): never the client's Host header.
        query = urlencode({"limit": limit, "after": _last_id(rows)})
        headers["Link"] = f'<{request.app.url_path_for("list_applications")}?{query}>; rel="next"'
    return JsonText(_array(rows), headers=headers)


def _last_id(rows: list[str]) -> str:
    return json.loads(rows[-1])["id"]


def _array(rows: list[str]) -> str:
    return "[" + ", ".join(rows) + "]"  # as json_agg joins them: one form for every body


async def _stream(db: Database, page: str) -> AsyncIterator[str]:
    # The first page was read before the response started, so a failure there is still
    # a proper error response; each later page continues from the last id sent.
    yield "["
    separator = ""
    while page != "[]":
        yield separator + page[1:-1]
        separator = ", "
        # Quotes inside JSON strings are escaped, so '{"id": "' only ever opens an object
        # (jsonb puts the shortest key first): the last one is the last application's id.
        start = page.rindex('{"id": "') + len('{"id": "')
        page = await db.fetch_value(
            "SELECT app_list_page(%s, %s)", (page[start : start + 26], LIST_CHUNK), idempotent=True
        )
    yield "]"

"""Lists: streamed whole, page after page of the database's, or one page with a Link to the next."""

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import AfterValidator

from api.http.responses import JsonText
from api.schema.models import MAX_NAME_LENGTH, NO_NUL, UlidText, storable_or_none

# Rows per database call while streaming a whole list: large enough that the round trips do not
# dominate; and the bytes at which a page stops however few rows it has (configurations take up
# to 1 MiB each), so that a page held in memory, once per reader, stays within 2 MiB. (A page of
# applications reaches 10,000 rows at about the same size.)
CHUNK = 10_000
PAGE_BYTES = 1024 * 1024
MAX_PAGE = 1000
# A history's or the change feed's page when the client names no `limit`: those lists are never whole.
DEFAULT_PAGE = 100

Limit = Annotated[
    int | None,
    Query(ge=1, le=MAX_PAGE, description=f"Page size (1-{MAX_PAGE}). Without it the whole list is returned."),
]
After = Annotated[UlidText | None, Query(description="Only what comes after this id (keyset pagination).")]
NameFilter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_NAME_LENGTH,
        description="Only the one with exactly this name.",
        json_schema_extra={"pattern": NO_NUL},  # as names are documented: a NUL is a 400
    ),
    AfterValidator(storable_or_none),
]

LINK = {
    "Link": {
        "description": 'With `limit`, while more follow: `<…?limit=N&after=ID>; rel="next"` (a relative reference).',
        "schema": {"type": "string"},
    }
}

# A page of rows as the database's *_list_page functions return it, and the id of its last row.
Page = tuple[str, str | None]


def one_page(
    rows: list[str], limit: int, path: str, query: dict[str, str | None], max_bytes: int | None = None
) -> JsonText:
    """`rows` (fetched with `limit + 1`, and stopped at `max_bytes` if given) as a JSON array, with a
    Link to the next page when more follow, or may: a page stopped by its bytes links on after its last."""
    headers = {}
    cut_short = max_bytes is not None and len(rows) <= limit and sum(len(row) for row in rows) >= max_bytes
    if len(rows) > limit or (cut_short and rows):
        rows = rows[:limit]
        # A relative reference (RFC 8288 allows it): never the client's Host header.
        next_query = {k: v for k, v in query.items() if v is not None} | {"limit": limit, "after": last_id(rows[-1])}
        headers["Link"] = f'<{path}?{urlencode(next_query)}>; rel="next"'
    return JsonText("[" + ", ".join(rows) + "]", headers=headers)  # joined as json_agg joins them


def last_id(row: str) -> str:
    return json.loads(row)["id"]


def streamed(first: Page, more: Callable[[str], Awaitable[Page]]) -> StreamingResponse:
    """The whole list: `first` (read before the answer starts, so that its failure is still a
    proper error), then `more(last id)` until a page is empty."""

    async def body() -> AsyncIterator[str]:
        page, last = first
        yield "["
        separator = ""
        while page != "[]" and last is not None:
            yield separator + page[1:-1]
            separator = ", "
            page, last = await more(last)
        yield "]"

    return StreamingResponse(body(), media_type="application/json")

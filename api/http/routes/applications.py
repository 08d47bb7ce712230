"""/applications: create, replace, read, list and delete applications, and list one's configurations."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.db.gateway import Store
from api.http import conditional, responses
from api.http.conditional import GET_PARAMETERS, IfMatch, IfNoneMatchOnWrite
from api.http.openapi import created, problems, revalidated, tagged
from api.http.paths import path_to
from api.http.responses import JsonText
from api.http.routes import listing
from api.http.routes.listing import LINK, After, Limit, NameFilter, Page, one_page, streamed
from api.http.routing import DirectRoute, JsonBodyRoute, store
from api.schema import ids
from api.schema.models import Application, ApplicationIn, ApplicationSummary, Configuration, UlidText

# The read by id and the create, on the hot paths, are DirectRoutes; the rest, which take queries
# or headers, go through FastAPI.
direct = APIRouter(prefix="/applications", tags=["applications"], route_class=DirectRoute)
others = APIRouter(prefix="/applications", tags=["applications"], route_class=JsonBodyRoute)


@direct.post(
    "",
    status_code=201,
    response_model=Application,
    responses=created("application") | problems(400, 409, 413, 415, 503),
)
async def create_application(body: ApplicationIn, request: Request) -> JsonText:
    """Create an application; its name must be unique."""
    new_id = ids.new_id()
    text = await store(request).app_create(body.name, body.comments, new_id)
    location = path_to(request, "get_application", application_id=new_id)
    return responses.tagged(text, 201, {"Location": location})


@others.put(
    "/{application_id}",
    response_model=Application,
    responses=tagged() | problems(400, 404, 409, 412, 413, 415, 503),
)
async def replace_application(
    application_id: UlidText,
    body: ApplicationIn,
    request: Request,
    _if_match: IfMatch = None,
    _if_none_match: IfNoneMatchOnWrite = None,
) -> JsonText:
    """Replace an application's name and comments (omitted comments become null).

    With `If-Match`, only if the application is still as that ETag says; with `If-None-Match`, only if
    it is not (`*`: never, as it exists): else 412 with its current ETag, nothing changed.
    """
    text = await store(request).app_update(
        application_id, body.name, body.comments, *conditional.preconditions(request)
    )
    return responses.tagged(text)


@direct.get(
    "/{application_id}",
    response_model=Application,
    responses=revalidated() | problems(400, 404, 503),
    openapi_extra=GET_PARAMETERS,
)
async def get_application(application_id: UlidText, request: Request) -> Response:
    """An application with the ids of its configurations, in creation order; 304 when If-None-Match
    matches, or with `wait` when it has not changed within that many seconds (a long-poll)."""
    return await conditional.get(request, Store.app_get, application_id)


@others.delete(
    "/{application_id}",
    status_code=204,
    responses=problems(
        400, 404, 409, 412, 503, s409="The application still has configurations: delete them first (SQLSTATE 2BP01)"
    ),
)
async def delete_application(
    application_id: UlidText, request: Request, _if_match: IfMatch = None, _if_none_match: IfNoneMatchOnWrite = None
) -> Response:
    """Delete an application that has no configurations left (no cascade: 409 while it has some).

    `If-Match` and `If-None-Match` as for PUT: 412 with the current ETag when they refuse it.
    """
    await store(request).app_delete(application_id, *conditional.preconditions(request))
    return Response(status_code=204)


@others.get("", response_model=list[ApplicationSummary], responses={200: {"headers": LINK}} | problems(400, 503))
async def list_applications(
    request: Request, limit: Limit = None, after: After = None, name: NameFilter = None
) -> Response:
    """Applications ordered by id: all of them, streamed, or one page when `limit` is given.

    A page that is followed by more carries a `Link: <…>; rel="next"` header. `name` keeps only
    the application with exactly that name (`[]` when there is none).
    """
    if limit is not None:
        rows = await store(request).app_list(after, limit + 1, name)
        return one_page(rows, limit, path_to(request, "list_applications"), {"name": name})

    pages = store(request).pages()

    async def page(after: str | None) -> Page:
        text = await pages.app_list_page(after, listing.CHUNK, name, listing.PAGE_BYTES)
        # Quotes inside JSON strings are escaped, so '{"id": "' only ever opens an object (jsonb
        # puts the shortest key first, and applications hold no objects): the last one is the last id.
        start = text.rfind('{"id": "') + len('{"id": "')
        return text, text[start : start + 26] if text != "[]" else None

    return streamed(await page(after), page)


@others.get(
    "/{application_id}/configurations",
    response_model=list[Configuration],
    responses={200: {"headers": LINK}} | problems(400, 404, 503),
)
async def list_configurations(
    application_id: UlidText,
    request: Request,
    limit: Limit = None,
    after: After = None,
    name: NameFilter = None,
) -> Response:
    """The application's configurations, whole, ordered by id: all of them, streamed, or one page when
    `limit` is given (with a `Link` to the next); `name` keeps only the one with that name."""
    if limit is not None:
        rows = await store(request).config_list(application_id, after, limit + 1, name, listing.PAGE_BYTES)
        path = path_to(request, "list_configurations", application_id=application_id)
        return one_page(rows, limit, path, {"name": name}, listing.PAGE_BYTES)

    pages = store(request).pages()

    async def page(after: str | None) -> Page:
        return await pages.config_list_page(application_id, after, listing.CHUNK, name, listing.PAGE_BYTES)

    return streamed(await page(after), page)


router = APIRouter()
router.include_router(others)
router.include_router(direct)

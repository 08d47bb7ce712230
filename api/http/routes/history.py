"""History: each application's and configuration's revisions, one revision's state, the diff
between two, and a revert (which also undeletes). The SQL functions behind them are in
db/functions/ (`*_revisions`, `*_revision`, `*_diff`, `*_revert`); db/README.md, Revisions."""

import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from api.etags import Current
from api.http import conditional, responses
from api.http.conditional import IfMatch, IfNoneMatchOnWrite, every_line
from api.http.openapi import problems, tagged
from api.http.paths import path_to
from api.http.responses import JsonText, resource_response
from api.http.routes.listing import DEFAULT_PAGE, LINK, MAX_PAGE
from api.http.routing import JsonBodyRoute, store
from api.schema.history import MAX_REVISION, PatchOperation, RevertIn, Revision, RevisionState
from api.schema.models import Application, Configuration, UlidText

applications = APIRouter(prefix="/applications", tags=["history"], route_class=JsonBodyRoute)
configurations = APIRouter(prefix="/configurations", tags=["history"], route_class=JsonBodyRoute)

HistoryLimit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Page size (1-{MAX_PAGE}).")]
Before = Annotated[
    int | None, Query(ge=1, le=MAX_REVISION, description="Only revisions before this one (the next page's cursor).")
]
RevisionPath = Annotated[int, Path(ge=1, le=MAX_REVISION, description="A revision number.")]
From = Annotated[int, Query(alias="from", ge=1, le=MAX_REVISION, description="The revision to diff from.")]
To = Annotated[
    int | None,
    Query(alias="to", ge=1, le=MAX_REVISION, description="The revision to diff to; without it, the current state."),
]


class JsonPatchText(JsonText):
    """An RFC 6902 JSON Patch, as the database wrote it."""

    media_type = "application/json-patch+json"


def _history_page(text: str, limit: int, path: str) -> JsonText:
    """A page of a history (fetched with `limit + 1`), with a Link to the next when more follow."""
    revisions = json.loads(text)
    headers = {}
    if len(revisions) > limit:
        revisions = revisions[:limit]
        query = urlencode({"limit": limit, "before": revisions[-1]["revision"]})
        headers["Link"] = f'<{path}?{query}>; rel="next"'
    return JsonText(json.dumps(revisions, ensure_ascii=False), headers=headers)


def _revision_response(text: str, request: Request) -> Response:
    """A revision with its state; its ETag is the resource's then (none for a deletion). A revision
    never changes, so a matching If-None-Match is a 304."""
    tag = json.loads(text).get("etag")
    if tag is None:
        return JsonText(text)
    return resource_response(Current(text.encode(), tag), every_line(request, "if-none-match"))


HISTORY = {200: {"headers": LINK}} | problems(400, 404, 503, s404="It has no revisions kept (or never existed)")
ONE_REVISION = tagged() | {304: {"description": "Not Modified: If-None-Match matched; no body"}}
ONE_REVISION |= problems(400, 404, 503, s404="No such revision of it is kept")
DIFF = {200: {"content": {JsonPatchText.media_type: {}}}} | problems(400, 404, 503, s404="No such revision is kept")
REVERT = tagged() | problems(
    400,
    404,
    409,
    412,
    413,
    415,
    503,
    s400="Invalid request, the revision is a deletion (SQLSTATE 22023), or recreating a configuration "
    "whose application is gone (SQLSTATE 23503)",
    s404="No such revision is kept",
    s409="Its name (or, recreating it, its id) is taken now (SQLSTATE 23505)",
    s412="If-Match does not match its current ETag (or it is deleted), or If-None-Match matches it",
)


# -- applications --------------------------------------------------------------------------------


@applications.get("/{application_id}/revisions", response_model=list[Revision], responses=HISTORY)
async def list_application_revisions(
    application_id: UlidText, request: Request, limit: HistoryLimit = DEFAULT_PAGE, before: Before = None
) -> Response:
    """The application's revisions, newest first: every create, update and delete, whoever made it
    (through the API or in psql), also once it is deleted. Pages of `limit` (100 by default), with a
    `Link` to the next while more follow."""
    text = await store(request).app_revisions(application_id, before, limit + 1)
    path = path_to(request, "list_application_revisions", application_id=application_id)
    return _history_page(text, limit, path)


@applications.get("/{application_id}/revisions/{revision}", response_model=RevisionState, responses=ONE_REVISION)
async def get_application_revision(application_id: UlidText, revision: RevisionPath, request: Request) -> Response:
    """One revision of the application, with `state`: the application as GET returned it after that
    change (null after its deletion). Its ETag is the application's then."""
    return _revision_response(await store(request).app_revision(application_id, revision), request)


@applications.get("/{application_id}/diff", response_model=list[PatchOperation], responses=DIFF)
async def diff_application(application_id: UlidText, request: Request, from_: From, to: To = None) -> Response:
    """An RFC 6902 JSON Patch that turns the application as revision `from` left it into what
    revision `to` left (without `to`: the application now). A deleted application is `null`."""
    return JsonPatchText(await store(request).app_diff(application_id, from_, to))


@applications.post("/{application_id}/revert", response_model=Application, responses=REVERT)
async def revert_application(
    application_id: UlidText,
    body: RevertIn,
    request: Request,
    _if_match: IfMatch = None,
    _if_none_match: IfNoneMatchOnWrite = None,
) -> JsonText:
    """Make the application's name and comments as revision `revision` left them current again, as a
    new revision; a deleted application is recreated with the same id. Its ETag is then that
    revision's when its configurations are the same. `If-Match` and `If-None-Match` as for PUT (a
    deleted application matches no `If-Match`)."""
    text = await store(request).app_revert(application_id, body.revision, *conditional.preconditions(request))
    return responses.tagged(text)


# -- configurations ------------------------------------------------------------------------------


@configurations.get("/{configuration_id}/revisions", response_model=list[Revision], responses=HISTORY)
async def list_configuration_revisions(
    configuration_id: UlidText, request: Request, limit: HistoryLimit = DEFAULT_PAGE, before: Before = None
) -> Response:
    """The configuration's revisions, newest first: every create, update and delete, whoever made it
    (through the API or in psql), also once it is deleted. Pages of `limit` (100 by default), with a
    `Link` to the next while more follow."""
    text = await store(request).config_revisions(configuration_id, before, limit + 1)
    path = path_to(request, "list_configuration_revisions", configuration_id=configuration_id)
    return _history_page(text, limit, path)


@configurations.get("/{configuration_id}/revisions/{revision}", response_model=RevisionState, responses=ONE_REVISION)
async def get_configuration_revision(configuration_id: UlidText, revision: RevisionPath, request: Request) -> Response:
    """One revision of the configuration, with `state`: the configuration as GET returned it after
    that change (null after its deletion). Its ETag is the configuration's then."""
    return _revision_response(await store(request).config_revision(configuration_id, revision), request)


@configurations.get("/{configuration_id}/diff", response_model=list[PatchOperation], responses=DIFF)
async def diff_configuration(configuration_id: UlidText, request: Request, from_: From, to: To = None) -> Response:
    """An RFC 6902 JSON Patch that turns the configuration as revision `from` left it into what
    revision `to` left (without `to`: the configuration now). A deleted configuration is `null`."""
    return JsonPatchText(await store(request).config_diff(configuration_id, from_, to))


@configurations.post("/{configuration_id}/revert", response_model=Configuration, responses=REVERT)
async def revert_configuration(
    configuration_id: UlidText,
    body: RevertIn,
    request: Request,
    _if_match: IfMatch = None,
    _if_none_match: IfNoneMatchOnWrite = None,
) -> JsonText:
    """Make the configuration as revision `revision` left it current again, as a new revision whose
    ETag is that revision's; a deleted configuration is recreated with the same id (400 when its
    application is gone, 409 when its name is taken). `If-Match` and `If-None-Match` as for PUT (a
    deleted configuration matches no `If-Match`)."""
    text = await store(request).config_revert(configuration_id, body.revision, *conditional.preconditions(request))
    return responses.tagged(text)


router = APIRouter()
router.include_router(applications)
router.include_router(configurations)

"""/applications/by-name/…: an application, or one of its configurations, addressed by names.

A name may hold any character, `/` included, so each is one percent-encoded path segment
(`billing%2Feu`). The server decodes the path before routing, which would split such a
name, so the names are read from the raw path; the two documented routes and a hidden
catch-all all answer the same way.
"""

from urllib.parse import unquote_to_bytes

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.db.gateway import Store
from api.http import conditional
from api.http.conditional import GET_PARAMETERS
from api.http.openapi import problems, revalidated
from api.http.routing import DirectRoute
from api.schema.errors import BadRequest, NotFound
from api.schema.models import MAX_NAME_LENGTH, Application, Configuration

PREFIX = "/applications/by-name"
router = APIRouter(prefix=PREFIX, tags=["by name"], route_class=DirectRoute)


def _names(request: Request) -> list[str]:
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    segments = raw.split(b"?", 1)[0].split(PREFIX.encode() + b"/", 1)[1].split(b"/")
    names = []
    for segment in segments:
        try:
            name = unquote_to_bytes(segment).decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("a name in the path is not UTF-8 once percent-decoded") from None
        if not 1 <= len(name) <= MAX_NAME_LENGTH or "\x00" in name:
            raise BadRequest(f"names are 1 to {MAX_NAME_LENGTH} characters, without NUL")
        names.append(name)
    return names


async def _by_name(request: Request) -> Response:
    conditional.wait_of(request)  # a bad `wait` is refused before the names: the same 400 as by id
    match _names(request):
        case [application]:
            return await conditional.get(request, Store.app_get_by_name, application)
        case [application, "configurations", configuration]:
            return await conditional.get(request, Store.config_get_by_name, application, configuration)
        case _:
            raise NotFound("Not Found")


_NO_APPLICATION = {"detail": 'no application is named "billing"', "sqlstate": "P0002"}
_NO_CONFIGURATION = {"detail": 'application "billing" has no configuration named "production"', "sqlstate": "P0002"}


@router.get(
    "/{application_name}",
    response_model=Application,
    responses=revalidated() | problems(400, 404, 503, examples={404: _NO_APPLICATION}),
    openapi_extra=GET_PARAMETERS,
)
async def get_application_by_name(application_name: str, request: Request) -> Response:
    """The application with exactly this name (percent-encoded), as GET by id returns it."""
    return await _by_name(request)


@router.get(
    "/{application_name}/configurations/{configuration_name}",
    response_model=Configuration,
    responses=revalidated()
    | problems(
        400, 404, 503, s404="No application, or no configuration, of that name", examples={404: _NO_CONFIGURATION}
    ),
    openapi_extra=GET_PARAMETERS,
)
async def get_configuration_by_name(application_name: str, configuration_name: str, request: Request) -> Response:
    """The configuration `configuration_name` of the application `application_name` (both percent-encoded),
    as GET by id returns it: the one request a consuming service makes at boot."""
    return await _by_name(request)


@router.get("/{names:path}", include_in_schema=False)
async def get_by_names(names: str, request: Request) -> Response:
    # A name with an encoded "/" arrives here: the decoded path has more segments than the routes above.
    return await _by_name(request)

"""/configurations: create, replace, read and delete configurations."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.db.gateway import Store
from api.http import conditional, responses
from api.http.conditional import GET_PARAMETERS, IfMatch, IfNoneMatchOnWrite
from api.http.openapi import created, problems, revalidated, tagged
from api.http.paths import path_to
from api.http.responses import JsonText
from api.http.routing import DirectRoute, ExactJsonRoute, store
from api.schema import exact_json, ids
from api.schema.errors import PayloadTooLarge
from api.schema.models import MAX_CONFIG_STORED_BYTES, Configuration, ConfigurationIn, ConfigurationUpdate, UlidText


def _config_text(config: dict) -> str:
    """The config as JSON for jsonb, unless its numbers alone would exceed the stored-size limit."""
    # config_check() measures the stored text; this spares it building megabytes of digits.
    if exact_json.numbers_length(config) > MAX_CONFIG_STORED_BYTES:
        raise PayloadTooLarge(f"config would take more than {MAX_CONFIG_STORED_BYTES} bytes as stored")
    return exact_json.dumps(config)


# Only the writes carry a config, which goes to jsonb with its numbers exactly as sent: their
# bodies are read by api.schema.exact_json. The read by id, on the hot path, is a DirectRoute.
writes = APIRouter(prefix="/configurations", tags=["configurations"], route_class=ExactJsonRoute)
reads = APIRouter(prefix="/configurations", tags=["configurations"], route_class=DirectRoute)
others = APIRouter(prefix="/configurations", tags=["configurations"])


@writes.post(
    "",
    status_code=201,
    response_model=Configuration,
    responses=created("configuration")
    | problems(
        400,
        409,
        413,
        415,
        503,
        s400="Invalid request, or no application has that `application_id` (SQLSTATE 23503)",
        s413="Request body too large, or `config` over 1 MiB as stored (SQLSTATE 54000)",
    ),
)
async def create_configuration(body: ConfigurationIn, request: Request) -> JsonText:
    """Create a configuration of an existing application; its name must be unique within that application.

    An `application_id` that names no application is a 400 (SQLSTATE 23503). `config` is stored as
    jsonb, numbers exactly as sent, and may take at most 1 MiB as JSON text once stored (else 413).
    """
    new_id = ids.new_id()
    text = await store(request).config_create(
        str(body.application_id), body.name, _config_text(body.config), body.comments, new_id
    )
    location = path_to(request, "get_configuration", configuration_id=new_id)
    return responses.tagged(text, 201, {"Location": location})


@writes.put(
    "/{configuration_id}",
    response_model=Configuration,
    responses=tagged()
    | problems(
        400,
        404,
        409,
        412,
        413,
        415,
        503,
        s400="Invalid request, or `application_id` names another application (SQLSTATE 22023)",
        s413="Request body too large, or `config` over 1 MiB as stored (SQLSTATE 54000)",
    ),
)
async def replace_configuration(
    configuration_id: UlidText,
    body: ConfigurationUpdate,
    request: Request,
    _if_match: IfMatch = None,
    _if_none_match: IfNoneMatchOnWrite = None,
) -> JsonText:
    """Replace a configuration's name, comments and config. Its application never changes.

    Sending an `application_id` other than the configuration's own is a 400 (SQLSTATE 22023). With
    `If-Match`, only if the configuration is still as that ETag says; with `If-None-Match`, only if it
    is not (`*`: never, as it exists): else 412 with its current ETag, nothing changed.
    """
    application_id = str(body.application_id) if body.application_id is not None else None
    text = await store(request).config_update(
        configuration_id,
        body.name,
        _config_text(body.config),
        body.comments,
        application_id,
        *conditional.preconditions(request),
    )
    return responses.tagged(text)


@reads.get(
    "/{configuration_id}",
    response_model=Configuration,
    responses=revalidated() | problems(400, 404, 503),
    openapi_extra=GET_PARAMETERS,
)
async def get_configuration(configuration_id: UlidText, request: Request) -> Response:
    """A configuration with its config object; 304 when If-None-Match matches, or with `wait`
    when it has not changed within that many seconds (a long-poll)."""
    return await conditional.get(request, Store.config_get, configuration_id)


@others.delete("/{configuration_id}", status_code=204, responses=problems(400, 404, 412, 503))
async def delete_configuration(
    configuration_id: UlidText, request: Request, _if_match: IfMatch = None, _if_none_match: IfNoneMatchOnWrite = None
) -> Response:
    """Delete a configuration. `If-Match` and `If-None-Match` as for PUT: 412 with the current ETag
    when they refuse it."""
    await store(request).config_delete(configuration_id, *conditional.preconditions(request))
    return Response(status_code=204)


router = APIRouter()
router.include_router(writes)
router.include_router(reads)
router.include_router(others)

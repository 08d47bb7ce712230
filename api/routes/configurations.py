"""/configurations: create, replace and read configurations."""

from fastapi import APIRouter, Request

from api import exact_json, ids
from api.deps import Db, JsonBody
from api.errors import PayloadTooLarge
from api.models import MAX_CONFIG_STORED_BYTES, Configuration, ConfigurationIn, ConfigurationUpdate, UlidText
from api.openapi import created, problems
from api.routes import JsonText


# Configs go to jsonb with their numbers exactly as sent (api.exact_json).
def _config_text(config: dict) -> str:
    """The config as JSON for jsonb, unless its numbers alone would exceed the stored-size limit."""
    # config_check() measures the stored text; this spares it building megabytes of digits.
    if exact_json.numbers_length(config) > MAX_CONFIG_STORED_BYTES:
        raise PayloadTooLarge(f"config would take more than {MAX_CONFIG_STORED_BYTES} bytes as stored")
    return exact_json.dumps(config)


router = APIRouter(prefix="/configurations", tags=["configurations"], route_class=exact_json.ExactJsonRoute)


@router.post(
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
    dependencies=[JsonBody],
)
async def create_configuration(body: ConfigurationIn, db: Db, request: Request) -> JsonText:
    """Create a configuration of an existing application; its name must be unique within that application.

    An `application_id` that names no application is a 400 (SQLSTATE 23503). `config` is stored as
    jsonb, numbers exactly as sent, and may take at most 1 MiB as JSON text once stored (else 413).
    """
    new_id = ids.new_id()
    text = await db.fetch_value(
        "SELECT config_create(%s, %s, %s, %s, %s)",
        (str(body.application_id), body.name, _config_text(body.config), body.comments, new_id),
    )
    location = request.app.url_path_for("get_configuration", configuration_id=new_id)
    return JsonText(text, status_code=201, headers={"Location": location})


@router.put(
    "/{configuration_id}",
    response_model=Configuration,
    responses=problems(
        400,
        404,
        409,
        413,
        415,
        503,
        s400="Invalid request, or `application_id` names another application (SQLSTATE 22023)",
        s413="Request body too large, or `config` over 1 MiB as stored (SQLSTATE 54000)",
    ),
    dependencies=[JsonBody],
)
async def replace_configuration(configuration_id: UlidText, body: ConfigurationUpdate, db: Db) -> JsonText:
    """Replace a configuration's name, comments and config. Its application never changes.

    Sending an `application_id` other than the configuration's own is a 400 (SQLSTATE 22023).
    """
    application_id = str(body.application_id) if body.application_id is not None else None
    text = await db.fetch_value(
        "SELECT config_update(%s, %s, %s, %s, %s)",
        (configuration_id, body.name, _config_text(body.config), body.comments, application_id),
    )
    return JsonText(text)


@router.get("/{configuration_id}", response_model=Configuration, responses=problems(400, 404, 503))
async def get_configuration(configuration_id: UlidText, db: Db) -> JsonText:
    """A configuration with its config object."""
    return JsonText(await db.fetch_value("SELECT config_get(%s)", (configuration_id,), idempotent=True))

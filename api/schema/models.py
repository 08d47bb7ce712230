"""Request and response bodies. Requests reject unknown fields; ids are ULIDs in any letter case."""

import math
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError
from pydantic_extra_types.ulid import ULID

from api.schema.exact_json import stored_length

# How deep a config may nest: far beyond any real configuration, far below what
# would strain the JSON parser or PostgreSQL's stack.
MAX_CONFIG_DEPTH = 64
# Numbers in a config are kept exact (api.schema.exact_json) and must lie within a double's range, as
# db/functions/app_private/config_check.sql checks: jsonb writes them out in full.
NUMBER_BOUND = Decimal("1e309")
SMALLEST_NUMBER = Decimal("1e-309")
MAX_NUMBER_CHARACTERS = 400


def _storable(text: str) -> str:
    """Text PostgreSQL can store: no NUL, and valid Unicode (JSON's \\ud800 escapes can make lone surrogates)."""
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "Text cannot contain the NUL character (U+0000)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError("lone_surrogate", "Text cannot contain lone UTF-16 surrogates") from None
    return text


def storable_or_none(text: str | None) -> str | None:
    """`_storable` for optional text, such as a query parameter."""
    return text if text is None else _storable(text)


def _storable_config(config: dict[str, Any]) -> dict[str, Any]:
    """Reject what jsonb cannot hold or what no configuration needs: NUL, NaN and infinities, deep nesting."""
    pending: list[tuple[Any, int]] = [(config, 1)]  # iterative: a deep document must not exhaust the stack
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth > MAX_CONFIG_DEPTH:
                raise PydanticCustomError(
                    "config_too_deep", "config nests deeper than {max_depth} levels", {"max_depth": MAX_CONFIG_DEPTH}
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _storable(key)
                pending.append((item, depth + 1))
        elif isinstance(value, str):
            _storable(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise PydanticCustomError("config_number", "config numbers must be finite: not NaN or Infinity")
        elif isinstance(value, Decimal) and (
            (value != 0 and not SMALLEST_NUMBER <= value.copy_abs() < NUMBER_BOUND)
            or stored_length(value) > MAX_NUMBER_CHARACTERS
        ):
            # As config_check() in the database, which says why.
            raise PydanticCustomError(
                "config_number_range",
                "config numbers must be zero or between 1e-309 and 1e309 in magnitude, and take at most "
                "{max_characters} characters written out in full",
                {"max_characters": MAX_NUMBER_CHARACTERS},
            )
    return config


# What JSON Schema can say of `_storable`: no NUL. (Lone surrogates it cannot express.)
NO_NUL = "^[^\\u0000]*$"
# A config's limit once stored, as db/functions/app_private/config_check.sql enforces it (SQLSTATE 54000, a 413).
MAX_CONFIG_STORED_BYTES = 1_048_576

MAX_NAME_LENGTH = 256

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(_storable),
    Field(examples=["billing"], json_schema_extra={"pattern": NO_NUL}),
]
Comments = (
    Annotated[
        str,
        StringConstraints(max_length=1024),
        AfterValidator(_storable),
        Field(examples=["owned by team X"], json_schema_extra={"pattern": NO_NUL}),
    ]
    | None
)
# A named alias, so that the document holds it once (components.schemas.Config) and every body
# refers to it: generated clients make one class of it, not one per body.
type Config = Annotated[
    dict[str, Any],
    AfterValidator(_storable_config),
    Field(
        description="A JSON object, stored as jsonb with its numbers exactly as sent. At most "
        f"{MAX_CONFIG_STORED_BYTES} bytes as JSON text once stored, where numbers are written out in full "
        f"(1e308 takes 309 bytes): larger is a 413. No NUL in keys or strings, no NaN or Infinity, at most "
        f"{MAX_CONFIG_DEPTH} levels deep.",
        examples=[{"replicas": 3, "region": "eu-west-1"}],
        json_schema_extra={"x-max-stored-bytes": MAX_CONFIG_STORED_BYTES},
    ),
]

APPLICATION_ID = "01JD7X8N3QYF4M2W6R9T0BCSKZ"
CONFIGURATION_ID = "01JD7X9P1VHN3K8D5E2A7QXG4M"

# 26 Crockford base32 characters, any case; the first at most 7 (a ULID is 128 bits). The
# database's ulid_normalize() accepts exactly these.
ULID_PATTERN = "^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$"
_ULID_SCHEMA = {"type": "string", "pattern": ULID_PATTERN, "examples": [APPLICATION_ID]}


def _ulid_text(value: object) -> str:
    if not isinstance(value, str) or re.fullmatch(ULID_PATTERN, value) is None:
        raise PydanticCustomError("ulid_parsing", "Input should be a ULID: 26 characters of Crockford base32")
    return value.upper()


# Ids in paths and queries: FastAPI takes only plain types there, so a ULID as text, checked
# by its pattern (which says all there is to say of a ULID's text) and made canonical uppercase.
# On the GET paths this is hot: pydantic-extra-types' ULID decodes in pure Python.
UlidText = Annotated[str, AfterValidator(_ulid_text), WithJsonSchema(_ULID_SCHEMA)]

# Ids in request bodies: pydantic's ULID type, behind the same check (on its own it also takes
# integers and bytes, and a negative integer made it fail with an OverflowError), sent on as text.
Ulid = Annotated[ULID, BeforeValidator(_ulid_text), PlainSerializer(str, return_type=str), WithJsonSchema(_ULID_SCHEMA)]


class StrictBody(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class ApplicationIn(StrictBody):
    """An application to create, or the full replacement of one (omitted comments become null)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "billing", "comments": "owned by team X"}]})
    name: Name
    comments: Comments = None


class ApplicationSummary(BaseModel):
    """An application as listed."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": APPLICATION_ID, "name": "billing", "comments": "owned by team X"}]}
    )

    id: UlidText
    name: str
    comments: str | None


class Application(ApplicationSummary):
    """An application with the ids of its configurations, in creation order."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": APPLICATION_ID,
                    "name": "billing",
                    "comments": "owned by team X",
                    "configuration_ids": [CONFIGURATION_ID],
                }
            ]
        }
    )

    configuration_ids: list[UlidText] = Field(examples=[[CONFIGURATION_ID]])


_CONFIGURATION = {"name": "production", "comments": "eu-west-1 cluster", "config": {"replicas": 3, "ratio": 0.25}}


class ConfigurationIn(StrictBody):
    """A configuration to create."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"application_id": APPLICATION_ID} | _CONFIGURATION]})

    application_id: Ulid
    name: Name
    comments: Comments = None
    config: Config


class ConfigurationUpdate(StrictBody):
    """The full replacement of a configuration. `application_id` can never change: send the current one or none."""

    model_config = ConfigDict(json_schema_extra={"examples": [_CONFIGURATION]})

    name: Name
    comments: Comments = None
    config: Config
    application_id: Ulid | None = None


class Configuration(BaseModel):
    """A configuration: a JSON object of settings belonging to one application."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": CONFIGURATION_ID, "application_id": APPLICATION_ID} | _CONFIGURATION]}
    )

    id: UlidText
    application_id: UlidText
    name: str
    comments: str | None
    config: Config


def left_out_when_none(schema: dict[str, Any]) -> None:
    """A field a body leaves out rather than writes as null: in the document, not required, not
    nullable and without a default, so that generated types say "may be absent", not "may be null"."""
    schema.pop("default", None)
    kinds = schema.pop("anyOf", None)
    if kinds:
        schema.update(next(kind for kind in kinds if kind.get("type") != "null"))


class FieldError(BaseModel):
    loc: list[str | int] = Field(examples=[["body", "name"]])
    msg: str = Field(examples=["String should have at most 256 characters"])
    type: str = Field(examples=["string_too_long"])


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (media type application/problem+json)."""

    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str = Field(examples=["Conflict"])
    status: int = Field(examples=[409])
    detail: str = Field(examples=['an application named "billing" already exists'])
    sqlstate: str | None = Field(
        default=None,
        description="The database's SQLSTATE, when it raised the error.",
        json_schema_extra=left_out_when_none,
    )
    errors: list[FieldError] | None = Field(
        default=None, description="What failed validation, for a 400.", json_schema_extra=left_out_when_none
    )


class SubscribedEvent(BaseModel):
    """The `data` of an event stream's first event, `subscribed`: the application as it was then."""

    application_id: str = Field(examples=[APPLICATION_ID])
    etag: str = Field(description="The application's ETag when the stream began.")


class ChangeEvent(BaseModel):
    """The `data` of a `created`, `updated` or `deleted` event: a change, as it committed."""

    id: str = Field(examples=[CONFIGURATION_ID], description="What changed.")
    etag: str | None = Field(
        default=None, description="Its new ETag; absent on a delete.", json_schema_extra=left_out_when_none
    )
    action: str = Field(json_schema_extra={"enum": ["created", "updated", "deleted"]})
    entity: str = Field(json_schema_extra={"enum": ["application", "configuration"]})
    revision: int = Field(examples=[42], description="Its revision, also the event's `id`.")
    application_id: str = Field(examples=[APPLICATION_ID], description="Its application (its own id for one).")
    application_etag: str | None = Field(
        default=None,
        description="A configuration created or deleted: its application's new ETag.",
        json_schema_extra=left_out_when_none,
    )


class ResyncEvent(BaseModel):
    """The `data` of a `resync` event: changes may have been missed; read the application again."""

    reason: str


EVENT_PAYLOADS = (SubscribedEvent, ChangeEvent, ResyncEvent)


class Status(BaseModel):
    """What a probe answers when the service can serve: `ready`, or `degraded` with what is wrong."""

    status: str = Field(examples=["ready"], description="`ok` (liveness); `ready` or `degraded` (readiness)")
    problems: list[str] | None = Field(
        default=None,
        examples=[["the primary cannot be reached: reads are served by standbys, writes answer 503"]],
        json_schema_extra=left_out_when_none,
    )

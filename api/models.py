"""Request and response bodies. Requests reject unknown fields; ids are ULIDs in any letter case."""

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError
from pydantic_extra_types.ulid import ULID

Name = Annotated[str, StringConstraints(min_length=1, max_length=256), Field(examples=["billing"])]
Comments = Annotated[str, StringConstraints(max_length=1024)] | None
Config = Annotated[dict[str, Any], Field(examples=[{"replicas": 3, "region": "eu-west-1"}])]

APPLICATION_ID = "01JD7X8N3QYF4M2W6R9T0BCSKZ"
CONFIGURATION_ID = "01JD7X9P1VHN3K8D5E2A7QXG4M"

_ULID = TypeAdapter(ULID)


def _canonical_ulid(value: str) -> str:
    try:
        return str(_ULID.validate_python(value))
    except ValidationError:
        raise PydanticCustomError("ulid_parsing", "Input should be a ULID: 26 characters of Crockford base32") from None


# FastAPI takes only plain types as path and query parameters, so those are text
# checked by pydantic's ULID type and returned in canonical uppercase.
UlidText = Annotated[str, AfterValidator(_canonical_ulid), Field(examples=[APPLICATION_ID])]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ApplicationIn(Request):
    """An application to create, or the full replacement of one (omitted comments become null)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"name": "billing", "comments": "owned by team X"}]})
    name: Name
    comments: Comments = None


class ApplicationSummary(BaseModel):
    """An application as listed."""

    id: ULID = Field(examples=[APPLICATION_ID])
    name: str
    comments: str | None


class Application(ApplicationSummary):
    """An application with the ids of its configurations, in creation order."""

    configuration_ids: list[ULID] = Field(examples=[[CONFIGURATION_ID]])


class ConfigurationIn(Request):
    """A configuration to create."""

    application_id: ULID = Field(examples=[APPLICATION_ID])
    name: Name
    comments: Comments = None
    config: Config


class ConfigurationUpdate(Request):
    """The full replacement of a configuration. `application_id` can never change: send the current one or none."""

    name: Name
    comments: Comments = None
    config: Config
    application_id: ULID | None = Field(default=None, examples=[APPLICATION_ID])


class Configuration(BaseModel):
    """A configuration: a JSON object of settings belonging to one application."""

    id: ULID = Field(examples=[CONFIGURATION_ID])
    application_id: ULID = Field(examples=[APPLICATION_ID])
    name: str
    comments: str | None
    config: Config


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
    sqlstate: str | None = Field(default=None, description="The database's SQLSTATE, when it raised the error.")
    errors: list[FieldError] | None = Field(default=None, description="What failed validation, for a 400.")

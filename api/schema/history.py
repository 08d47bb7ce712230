"""The bodies of history: revisions, their diffs, a revert, and the change feed (db/README.md, Revisions)."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.schema.models import APPLICATION_ID, CONFIGURATION_ID, StrictBody, left_out_when_none

ETAG_EXAMPLE = '"5d41402abc4b2a76b9719d911017c592"'
AT_EXAMPLE = "2026-12-03T11:55:03.698675Z"

# Revision numbers are one bigint sequence; the API takes those JSON's numbers hold exactly
# (2^53 - 1, JavaScript's MAX_SAFE_INTEGER), which at a million a second last 285 years.
MAX_REVISION = 2**53 - 1
# Strict: true, "1" and 1.0 are not revision 1.
RevisionNumber = Field(ge=1, le=MAX_REVISION, strict=True, examples=[42])


class Revision(BaseModel):
    """One change of a resource, as its history lists it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"revision": 42, "action": "updated", "at": AT_EXAMPLE, "by": "appconfig", "etag": ETAG_EXAMPLE}
            ]
        }
    )

    revision: int = Field(description="Its number: one sequence for every change, in commit order.")
    action: Literal["created", "updated", "deleted"]
    at: str = Field(description="When its transaction began (UTC, RFC 3339).", examples=[AT_EXAMPLE])
    by: str = Field(description="The database role that made it (the API's own, or a DBA's).")
    etag: str | None = Field(
        default=None,
        description="The resource's ETag after it; absent after a delete.",
        json_schema_extra=left_out_when_none,
    )


class RevisionState(Revision):
    """One change of a resource with the resource as GET returned it after that change (null after a delete)."""

    state: dict[str, Any] | None = Field(
        description="The application or configuration as GET returned it then; null after its deletion."
    )


class RevertIn(StrictBody):
    """Which revision to make current again."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"revision": 42}]})

    revision: int = RevisionNumber


class PatchOperation(BaseModel):
    """One operation of an RFC 6902 JSON Patch: `remove`, `add` or `replace` at a JSON Pointer."""

    op: Literal["add", "remove", "replace"]
    path: str = Field(description='An RFC 6901 JSON Pointer; "" is the whole document.', examples=["/config/replicas"])
    value: Any = Field(default=None, description="For add and replace.", json_schema_extra=left_out_when_none)


class Change(BaseModel):
    """One change in the feed: what the notification of its commit said, and when."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "revision": 42,
                    "entity": "configuration",
                    "action": "updated",
                    "id": CONFIGURATION_ID,
                    "application_id": APPLICATION_ID,
                    "etag": ETAG_EXAMPLE,
                    "at": AT_EXAMPLE,
                }
            ]
        }
    )

    revision: int
    entity: Literal["application", "configuration"]
    action: Literal["created", "updated", "deleted"]
    id: str
    application_id: str = Field(description="Its application (its own id for one).")
    etag: str | None = Field(
        default=None, description="Its ETag after the change; absent on a delete.", json_schema_extra=left_out_when_none
    )
    application_etag: str | None = Field(
        default=None,
        description="A configuration created or deleted: its application's new ETag.",
        json_schema_extra=left_out_when_none,
    )
    at: str = Field(description="When its transaction began (UTC, RFC 3339).", examples=[AT_EXAMPLE])

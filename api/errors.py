"""The errors the API answers with, and the one place database errors become them.

    ApiError                    a problem response (RFC 9457, application/problem+json)
     ├── BadRequest             400
     ├── NotFound               404
     ├── Conflict               409
     ├── PreconditionFailed     412, with the resource's current ETag when known
     ├── PayloadTooLarge        413
     ├── UnsupportedMediaType   415
     ├── ServiceUnavailable     503, with Retry-After
     └── InternalError          500; the details go to the log only

`from_database_error()` maps a psycopg2 error by its SQLSTATE, most specific
first: the exact code, then its class. The codes the functions raise are
listed in db/README.md; a test keeps that table and this one in step.
"""

import psycopg2

from api.database import PoolTimeout


class ApiError(Exception):
    """Something went wrong."""

    status = 500
    title = "Internal Server Error"

    def __init__(self, detail: str | None = None, *, sqlstate: str | None = None) -> None:
        self.detail = detail or self.__doc__ or self.title
        self.sqlstate = sqlstate
        super().__init__(self.detail)

    @property
    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError):
    """The request is not valid."""

    status = 400
    title = "Bad Request"


class NotFound(ApiError):
    """There is no such resource."""

    status = 404
    title = "Not Found"


class Conflict(ApiError):
    """The request conflicts with the current state of the resource."""

    status = 409
    title = "Conflict"


class PreconditionFailed(ApiError):
    """The resource has changed since the ETag in If-Match was read."""

    status = 412
    title = "Precondition Failed"

    def __init__(self, detail: str | None = None, *, sqlstate: str | None = None, etag: str | None = None) -> None:
        super().__init__(detail, sqlstate=sqlstate)
        self.etag = etag

    @property
    def headers(self) -> dict[str, str]:
        return {"ETag": self.etag} if self.etag else {}


class PayloadTooLarge(ApiError):
    """The request body is larger than this service accepts."""

    status = 413
    title = "Content Too Large"


class UnsupportedMediaType(ApiError):
    """Send the request body as JSON, with Content-Type: application/json."""

    status = 415
    title = "Unsupported Media Type"


class ServiceUnavailable(ApiError):
    """The database is not available right now; try again shortly."""

    status = 503
    title = "Service Unavailable"
    retry_after_seconds = 1

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class InternalError(ApiError):
    """The server failed to answer this request; the failure has been logged."""


# SQLSTATE -> error: exact codes first, then two-character classes. See db/README.md.
SQLSTATE_ERRORS: dict[str, type[ApiError]] = {
    "23505": Conflict,  # unique_violation
    "23503": BadRequest,  # foreign_key_violation: the referenced application does not exist
    "2BP01": Conflict,  # dependent_objects_still_exist: an application that still has configurations
    "PT412": PreconditionFailed,  # ours: If-Match does not match the current ETag
    "P0002": NotFound,  # no_data_found
    "54000": PayloadTooLarge,  # program_limit_exceeded: a config over its size limit as stored
    "22": BadRequest,  # data exception: malformed id, bad JSON value, over-long or empty field
    "08": ServiceUnavailable,  # connection exception
    "53": ServiceUnavailable,  # insufficient resources, such as too many connections
    "57": ServiceUnavailable,  # operator intervention: shutdown, statement timeout
}


def from_database_error(exc: Exception) -> ApiError:
    """The API error for a database-side failure: psycopg2's errors and `PoolTimeout`."""
    if isinstance(exc, PoolTimeout):
        return ServiceUnavailable(str(exc))
    if isinstance(exc, psycopg2.Error):
        code = exc.pgcode or ""
        error = SQLSTATE_ERRORS.get(code) or SQLSTATE_ERRORS.get(code[:2])
        if error is ServiceUnavailable:
            return ServiceUnavailable(sqlstate=code)
        if error is not None:
            message = exc.diag.message_primary if exc.diag else None
            return error(message, sqlstate=code)
        if not code and isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
            return ServiceUnavailable()  # could not connect, or the connection broke
    return InternalError(sqlstate=getattr(exc, "pgcode", None))

"""The service's own errors: what any layer raises, and the HTTP layer answers as a problem.

    ApiError                    a problem response (RFC 9457, application/problem+json)
     ├── BadRequest             400
     ├── NotFound               404
     ├── Conflict               409
     ├── Gone                   410
     ├── PreconditionFailed     412, with the resource's current ETag when known
     ├── PayloadTooLarge        413
     ├── UnsupportedMediaType   415
     ├── ServiceUnavailable     503, with Retry-After
     └── InternalError          500; the details go to the log only

Database errors become these in one place, where the driver is called
(api.db.errors); nothing above the database layer sees the driver's own.
"""


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


class Gone(ApiError):
    """What the request asks for is no longer kept: read the resources again."""

    status = 410
    title = "Gone"


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

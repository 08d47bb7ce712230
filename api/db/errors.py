"""Database errors become the service's own (api.schema.errors) here, and only here.

`translate()` maps a psycopg2 error by its SQLSTATE, most specific first: the exact
code, then its class. The codes the functions raise are listed in db/README.md; a test
keeps that table and this one in step. The pool's own `PoolTimeout` is a 503 too.
"""

import logging

import psycopg2

from api.schema.errors import (
    ApiError,
    BadRequest,
    Conflict,
    Gone,
    InternalError,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
)

log = logging.getLogger(__name__)


class PoolTimeout(Exception):
    """No database connection became free in time."""


# What a call can raise from the database side: psycopg2's errors and the pool's own.
DATABASE_ERRORS = (psycopg2.Error, PoolTimeout)

# A connection that broke, or could not be made.
BROKEN = (psycopg2.OperationalError, psycopg2.InterfaceError)

NOT_FOUND = "P0002"
PRECONDITION_FAILED = "PT412"
GONE = "PT410"

# SQLSTATE -> error: exact codes first, then two-character classes. See db/README.md.
SQLSTATE_ERRORS: dict[str, type[ApiError]] = {
    "23505": Conflict,  # unique_violation
    "23503": BadRequest,  # foreign_key_violation: the referenced application does not exist
    "2BP01": Conflict,  # dependent_objects_still_exist: an application that still has configurations
    PRECONDITION_FAILED: PreconditionFailed,  # ours: If-Match does not match the current ETag
    GONE: Gone,  # ours: the change feed no longer holds every change after that cursor
    NOT_FOUND: NotFound,  # no_data_found
    "54000": PayloadTooLarge,  # program_limit_exceeded: a config over its size limit as stored
    "22": BadRequest,  # data exception: malformed id, bad JSON value, over-long or empty field
    "08": ServiceUnavailable,  # connection exception
    "53": ServiceUnavailable,  # insufficient resources, such as too many connections
    "57": ServiceUnavailable,  # operator intervention: shutdown, statement timeout
}


def sqlstate(exc: BaseException) -> str | None:
    """The error's SQLSTATE; 08006 (connection_failure) for a connection psycopg2 found broken,
    which it reports without a code; None for what is not a database error."""
    code = getattr(exc, "pgcode", None)
    if code:
        return code
    if isinstance(exc, BROKEN):
        return "08006"
    return None


def is_down(exc: BaseException) -> bool:
    """The server cannot be reached (not merely busy): no connection, or it is shutting down."""
    code = getattr(exc, "pgcode", None) or ""
    return (isinstance(exc, BROKEN) and not code) or code[:2] == "08" or code in ("57P01", "57P02", "57P03")


def is_bad_input(exc: BaseException) -> bool:
    """An error every server would raise alike: the request's own (a data exception)."""
    return (getattr(exc, "pgcode", None) or "")[:2] == "22"


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "pgcode", None) == NOT_FOUND


def translate(exc: BaseException) -> ApiError:
    """The service's error for a database-side failure; a server-side one is logged here."""
    error = _error_of(exc)
    if isinstance(error, InternalError):
        log.error("database error", exc_info=exc)
    elif isinstance(error, ServiceUnavailable):
        log.warning("database unavailable: %s", str(exc).strip())
    return error


def _error_of(exc: BaseException) -> ApiError:
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
        if not code and isinstance(exc, BROKEN):
            return ServiceUnavailable()  # could not connect, or the connection broke
    return InternalError(sqlstate=getattr(exc, "pgcode", None))

import psycopg2
import pytest

from api.db.errors import PoolTimeout, translate
from api.schema.errors import BadRequest, Conflict, InternalError, NotFound, ServiceUnavailable


def raised(dsn: str, sqlstate: str) -> psycopg2.Error:
    """A real psycopg2 error carrying `sqlstate`, as PostgreSQL sends it."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error) as failure:
            cur.execute(f"DO $$ BEGIN RAISE EXCEPTION 'boom' USING ERRCODE = '{sqlstate}'; END $$")
        return failure.value
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("sqlstate", "error", "status"),
    [
        ("23505", Conflict, 409),
        ("23503", BadRequest, 400),
        ("P0002", NotFound, 404),
        ("22P02", BadRequest, 400),
        ("22001", BadRequest, 400),
        ("22023", BadRequest, 400),
        ("57014", ServiceUnavailable, 503),
        ("57P01", ServiceUnavailable, 503),
        ("53300", ServiceUnavailable, 503),
        ("08006", ServiceUnavailable, 503),
        ("42883", InternalError, 500),
        ("23514", InternalError, 500),
    ],
)
def test_sqlstates_map_to_statuses(migrated_dsn, sqlstate, error, status):
    mapped = translate(raised(migrated_dsn, sqlstate))

    assert type(mapped) is error
    assert mapped.status == status
    assert mapped.sqlstate == sqlstate


def test_client_errors_carry_the_database_message(migrated_dsn):
    assert translate(raised(migrated_dsn, "23505")).detail == "boom"


def test_server_errors_do_not_carry_the_database_message(migrated_dsn):
    assert "boom" not in translate(raised(migrated_dsn, "42883")).detail
    assert "boom" not in translate(raised(migrated_dsn, "57014")).detail


def test_unreachable_database_is_503_with_retry_after(tmp_path):
    with pytest.raises(psycopg2.OperationalError) as failure:
        psycopg2.connect(f"host={tmp_path} port=1 dbname=none")

    mapped = translate(failure.value)

    assert mapped.status == 503
    assert mapped.headers == {"Retry-After": "1"}


def test_pool_timeout_is_503():
    assert translate(PoolTimeout("no connection")).status == 503


def test_anything_else_is_500():
    assert type(translate(ValueError("x"))) is InternalError

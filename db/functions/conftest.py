"""Fixtures for the tests of the SQL functions: they call the functions directly, no HTTP."""

from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import psycopg2.extensions
import pytest


@pytest.fixture
def db(migrated_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """An autocommit connection to a freshly migrated database, as the API has."""
    conn = psycopg2.connect(migrated_dsn)
    conn.autocommit = True
    yield conn
    conn.close()


@pytest.fixture
def call(db) -> Callable[..., Any]:
    """`call("app_get", id)`: the function's result, JSON decoded."""

    def call(function: str, *args: Any) -> Any:
        placeholders = ", ".join(["%s"] * len(args))
        with db.cursor() as cur:
            cur.execute(f"SELECT {function}({placeholders})", args)
            rows = cur.fetchall()
        values = [row[0] for row in rows]
        return values[0] if len(values) == 1 and not function.endswith("_list") else values

    return call


@pytest.fixture
def rows(db) -> Callable[[str], list[tuple]]:
    """`rows("SELECT ...")`: what a table holds now."""

    def rows(statement: str, params: tuple = ()) -> list[tuple]:
        with db.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    return rows


@pytest.fixture
def sqlstate(call) -> Callable[..., str]:
    """`sqlstate("app_get", "x")`: the SQLSTATE the call raises (the test fails if it raises none)."""

    def sqlstate(function: str, *args: Any) -> str:
        with pytest.raises(psycopg2.Error) as failure:
            call(function, *args)
        return failure.value.pgcode

    return sqlstate

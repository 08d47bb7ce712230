"""What the migration runner's tests share: a function file to deploy, and reading the database."""

import migrator
from migrator import Exit, Layout, catalog

HELLO = """CREATE OR REPLACE FUNCTION hello(p_name text) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, public, pg_temp
  RETURN 'hello ' || p_name;
"""


def run_up(conn, layout: Layout) -> tuple[migrator.State, list[str]]:
    lines: list[str] = []
    return migrator.up(conn, layout, say=lines.append), lines


def query(conn, statement: str, params: tuple = ()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(statement, params)
        rows = cur.fetchall()
    conn.commit()
    return rows


def live_functions(conn) -> set[str]:
    return {routine.name for routine in catalog.routines(conn)}


def codes(state: migrator.State) -> set[Exit]:
    return {p.code for p in state.problems}

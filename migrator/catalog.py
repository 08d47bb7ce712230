"""What the database holds: the `migrations` table and the functions db/functions/ accounts for."""

import hashlib
from datetime import datetime
from typing import NamedTuple

import psycopg2.extensions

from migrator.files import SCHEMAS

BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS migrations (
  kind       text NOT NULL CHECK (kind IN ('migration', 'function')),
  name       text NOT NULL,
  checksum   text NOT NULL,
  definition text,
  applied_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, name)
);
COMMENT ON TABLE migrations IS
  'Applied migration files and deployed function files (migrations.py). '
  'checksum: SHA-256 of the file; definition: SHA-256 of pg_get_functiondef() as deployed.';
"""

# Every function or procedure in the schemas db/functions/ defines, except those an extension
# owns: the set the files must account for exactly. `name` is schema-qualified but in public,
# whatever the connection's search_path; `written_now` marks the rows the current transaction
# wrote (without making it take a transaction id when it has none).
ROUTINES = """
SELECT CASE WHEN n.nspname = 'public' THEN p.proname ELSE n.nspname || '.' || p.proname END AS name,
       p.oid::regprocedure::text AS signature,
       pg_get_functiondef(p.oid) AS definition,
       coalesce(p.xmin = pg_current_xact_id_if_assigned()::xid, false) AS written_now
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = ANY(%s)
   AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 ORDER BY signature
"""


class Record(NamedTuple):
    """A row of the `migrations` table."""

    name: str
    checksum: str
    definition: str | None  # functions only: the fingerprint of what was deployed
    applied_at: datetime


class Routine(NamedTuple):
    name: str
    signature: str  # as DROP ROUTINE takes it on this connection
    definition: str
    written_now: bool


def has_migrations_table(conn: psycopg2.extensions.connection) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.migrations') IS NOT NULL")
        return cur.fetchone()[0]


def bootstrap(conn: psycopg2.extensions.connection) -> None:
    if not has_migrations_table(conn):
        with conn.cursor() as cur:
            cur.execute(BOOTSTRAP)
    conn.commit()


def recorded(conn: psycopg2.extensions.connection, kind: str) -> dict[str, Record]:
    """The rows of one kind ('migration' or 'function') by name; none before the table exists."""
    if not has_migrations_table(conn):
        return {}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT name, checksum, definition, applied_at FROM migrations WHERE kind = %s ORDER BY name", (kind,)
        )
        return {row[0]: Record(*row) for row in cur.fetchall()}


def routines(conn: psycopg2.extensions.connection) -> list[Routine]:
    with conn.cursor() as cur:
        cur.execute(ROUTINES, (list(SCHEMAS),))
        return [Routine(*row) for row in cur.fetchall()]


def fingerprints(found: list[Routine]) -> dict[str, str]:
    """Each function name's definitions hashed together, so an overload added by hand shows as drift."""
    definitions: dict[str, list[str]] = {}
    for routine in found:  # in signature order
        definitions.setdefault(routine.name, []).append(routine.definition)
    return {name: hashlib.sha256("\n".join(defs).encode()).hexdigest() for name, defs in definitions.items()}

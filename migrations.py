"""Migration runner: versioned schema migrations, then the repeatable function set.

    uv run python migrations.py status | up | verify

- `migrations/NNNN_name.sql` are applied once each, in order, each in its own
  transaction, and recorded in the `migrations` table with their SHA-256.
- `db/functions/NAME.sql` each define the function NAME. Whenever a file
  changed, was added or removed, or the database's definition drifted from the
  deployed one, the whole set is deployed again in one transaction and every
  function left in the schema that no file defines is dropped.
- `up` holds a PostgreSQL advisory lock, so concurrent runners apply nothing twice.

Exit codes of `verify` (`up` refuses to start with 3, 4 or 5):
  0  all in order
  1  a file failed to apply, or the database could not be reached
  2  usage error
  3  the database is newer than this checkout: it has applied migrations that are not here
  4  an applied migration file is missing
  5  an applied migration file was edited since it was applied (checksum drift)
  6  migrations are pending
  7  the functions in the database differ from db/functions/
When several apply, the lowest code above 2 wins; the report lists them all.
"""

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from functools import cached_property
from pathlib import Path

import psycopg2
import psycopg2.extensions
import sqlparse

from settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent
MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.sql$")
# Any constant works; it only has to be the same for every runner of this project.
ADVISORY_LOCK_KEY = 0x6170_7063_6667  # "appcfg"

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

# Every function or procedure in schema public except those an extension owns:
# this is the set db/functions/ must account for exactly. Each name's
# definitions are hashed together, so an overload added by hand shows as drift.
LIVE_FUNCTIONS = """
SELECT p.proname,
       encode(sha256(convert_to(
         string_agg(pg_get_functiondef(p.oid), E'\\n' ORDER BY p.oid::regprocedure::text), 'UTF8')), 'hex')
  FROM pg_proc p
 WHERE p.pronamespace = 'public'::regnamespace
   AND p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
 GROUP BY p.proname
"""


class Exit(IntEnum):
    OK = 0
    FAILED = 1
    USAGE = 2
    DATABASE_NEWER = 3
    MISSING = 4
    CHECKSUM_DRIFT = 5
    PENDING = 6
    FUNCTIONS_DIFFER = 7


class MigrationError(Exception):
    """A file could not be applied; its step was rolled back."""


@dataclass(frozen=True)
class SqlFile:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Layout:
    """Where the files live; tests point it at a copy they can edit."""

    migrations_dir: Path = PROJECT_ROOT / "migrations"
    functions_dir: Path = PROJECT_ROOT / "db" / "functions"

    def migrations(self) -> list[SqlFile]:
        files, versions = [], {}
        for path in sorted(self.migrations_dir.glob("*.sql")):
            match = MIGRATION_NAME.match(path.name)
            if match is None:
                raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
            if match[1] in versions:
                raise MigrationError(f"{path.name} and {versions[match[1]]} share version {match[1]}")
            versions[match[1]] = path.name
            files.append(SqlFile(path))
        return files

    def functions(self) -> list[SqlFile]:
        files = sorted(self.functions_dir.glob("*.sql"))
        for path in files:
            if FUNCTION_NAME.match(path.name) is None:
                raise MigrationError(f"{path.name}: function files are named after their function, lower_snake.sql")
        return [SqlFile(path) for path in files]


@dataclass(frozen=True)
class Problem:
    code: Exit
    text: str


@dataclass
class State:
    """What the files say against what the database has, and every difference."""

    migrations: list[tuple[str, str]] = field(default_factory=list)  # (name, state) in order
    functions: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_code(self) -> Exit:
        return min((p.code for p in self.problems), default=Exit.OK)

    def has(self, *codes: Exit) -> bool:
        return any(p.code in codes for p in self.problems)


def _version(name: str) -> str:
    return name.split("_", 1)[0]


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def connect(dsn: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(dsn, application_name="migrations.py")
    with conn.cursor() as cur:
        # Files create their objects in public, and pg_get_functiondef() output depends on the path.
        cur.execute("SET search_path = public")
    conn.commit()
    return conn


def _bootstrap(conn: psycopg2.extensions.connection) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            cur.execute(BOOTSTRAP)
    conn.commit()


def _recorded(conn: psycopg2.extensions.connection, kind: str) -> dict[str, tuple]:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('public.migrations') IS NOT NULL")
        if not cur.fetchone()[0]:
            return {}
        cur.execute(
            "SELECT name, checksum, definition, applied_at FROM migrations WHERE kind = %s ORDER BY name", (kind,)
        )
        return {row[0]: row[1:] for row in cur.fetchall()}


def _live_functions(conn: psycopg2.extensions.connection) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute(LIVE_FUNCTIONS)
        return dict(cur.fetchall())


def inspect(conn: psycopg2.extensions.connection, layout: Layout = Layout()) -> State:
    """Compare the files with the database without changing anything."""
    state = State()
    files = layout.migrations()
    applied = _recorded(conn, "migration")
    newest_file = max((_version(f.name) for f in files), default="0000")
    by_name = {f.name: f for f in files}

    for name in sorted(set(by_name) | set(applied), key=lambda n: (_version(n), n)):
        file, record = by_name.get(name), applied.get(name)
        if record is None:
            state.migrations.append((name, "pending"))
            state.problems.append(Problem(Exit.PENDING, f"migration {name} is pending"))
        elif file is None and _version(name) > newest_file:
            state.migrations.append((name, f"applied {_format_time(record[2])}, NOT IN THIS CHECKOUT"))
            state.problems.append(
                Problem(
                    Exit.DATABASE_NEWER,
                    f"migration {name} is applied but not in this checkout: the database is newer than the code",
                )
            )
        elif file is None:
            state.migrations.append((name, f"applied {_format_time(record[2])}, FILE MISSING"))
            state.problems.append(Problem(Exit.MISSING, f"migration {name} is applied but its file is missing"))
        elif file.checksum != record[0]:
            state.migrations.append((name, f"applied {_format_time(record[2])}, FILE CHANGED SINCE"))
            state.problems.append(
                Problem(
                    Exit.CHECKSUM_DRIFT,
                    f"migration {name} was edited after it was applied "
                    f"(checksum {record[0][:12]}… applied, {file.checksum[:12]}… on disk)",
                )
            )
        else:
            state.migrations.append((name, f"applied {_format_time(record[2])}"))

    _inspect_functions(conn, layout, state)
    return state


def _inspect_functions(conn: psycopg2.extensions.connection, layout: Layout, state: State) -> None:
    files = {f.path.stem: f for f in layout.functions()}
    deployed = _recorded(conn, "function")
    deployed = {Path(name).stem: record for name, record in deployed.items()}
    live = _live_functions(conn)

    for name in sorted(set(files) | set(deployed) | set(live)):
        file, record, definition = files.get(name), deployed.get(name), live.get(name)
        if file is not None and record is None:
            problem = "new in db/functions/, not deployed"
        elif file is None and record is not None:
            problem = "removed from db/functions/, still deployed"
        elif file is None:
            problem = "in the database, but no file in db/functions/ defines it"
        elif file.checksum != record[0]:
            problem = "changed in db/functions/ since deployed"
        elif definition is None:
            problem = "dropped in the database by hand"
        elif definition != record[1]:
            problem = "drifted in the database: its definition is not the deployed one"
        else:
            state.functions.append((name, "in sync"))
            continue
        state.functions.append((name, problem.upper() if "database" in problem else problem))
        state.problems.append(Problem(Exit.FUNCTIONS_DIFFER, f"function {name}: {problem}"))


def _statements(text: str) -> Iterator[tuple[int, str]]:
    """Each statement of a SQL file with the line it starts on, comments-only chunks skipped."""
    line = 1
    for statement in sqlparse.parse(text):
        chunk = str(statement)
        stripped = chunk.lstrip()
        if sqlparse.format(chunk, strip_comments=True).strip():
            yield line + chunk[: len(chunk) - len(stripped)].count("\n"), stripped
        line += chunk.count("\n")


def _execute_file(cur: psycopg2.extensions.cursor, file: SqlFile) -> None:
    for line, statement in _statements(file.text):
        try:
            cur.execute(statement)
        except psycopg2.Error as exc:
            position = exc.diag.statement_position
            if position is not None:
                line += statement[: int(position) - 1].count("\n")
            message = (exc.diag.message_primary or str(exc)).strip()
            detail = f" ({exc.diag.message_detail})" if exc.diag.message_detail else ""
            raise MigrationError(f"{file.path} line {line}: {exc.diag.severity or 'ERROR'}: {message}{detail}") from exc


def _apply_migration(conn: psycopg2.extensions.connection, file: SqlFile) -> None:
    try:
        with conn.cursor() as cur:
            _execute_file(cur, file)
            cur.execute(
                "INSERT INTO migrations (kind, name, checksum) VALUES ('migration', %s, %s)",
                (file.name, file.checksum),
            )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _deploy_functions(conn: psycopg2.extensions.connection, layout: Layout, say: Callable[[str], None]) -> None:
    files = layout.functions()
    try:
        with conn.cursor() as cur:
            # Bodies may call functions from files later in the order; they are checked when called.
            cur.execute("SET LOCAL check_function_bodies = off")
            for file in files:
                started = time.perf_counter()
                _execute_file(cur, file)
                say(f"deployed  db/functions/{file.name}  ({(time.perf_counter() - started) * 1000:.0f} ms)")
            # CREATE OR REPLACE rewrites a function's pg_proc row even when nothing changed, so
            # a row this transaction did not write belongs to no file: a removed function or
            # the old overload of a changed signature.
            cur.execute(
                "SELECT p.oid::regprocedure::text, p.xmin = pg_current_xact_id()::xid"
                "  FROM pg_proc p"
                " WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')"
                "   AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass"
                "                    AND d.objid = p.oid AND d.deptype = 'e')"
            )
            routines = cur.fetchall()
            stems = {f.path.stem for f in files}
            for signature, deployed_now in routines:
                name = signature.split("(", 1)[0]
                if deployed_now and name not in stems:
                    raise MigrationError(f"function {signature} is not named after the file that defines it")
                if not deployed_now:
                    cur.execute(f"DROP ROUTINE {signature}")
                    say(f"dropped   {signature}  (no file in db/functions/ defines it)")
            missing = stems - {s.split("(", 1)[0] for s, now in routines if now}
            if missing:
                raise MigrationError(f"db/functions/{sorted(missing)[0]}.sql does not define a function of that name")
            live = _live_functions(conn)
            cur.execute("DELETE FROM migrations WHERE kind = 'function'")
            for file in files:
                cur.execute(
                    "INSERT INTO migrations (kind, name, checksum, definition) VALUES ('function', %s, %s, %s)",
                    (file.name, file.checksum, live[file.path.stem]),
                )
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def up(conn: psycopg2.extensions.connection, layout: Layout = Layout(), say: Callable[[str], None] = print) -> State:
    """Apply pending migrations and redeploy the functions if they differ; the state before."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        if not cur.fetchone()[0]:
            say("waiting for another migration runner to finish")
            cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    conn.commit()
    try:
        _bootstrap(conn)
        state = inspect(conn, layout)
        refusals = [p for p in state.problems if p.code < Exit.PENDING]
        if refusals:
            for problem in refusals:
                say(f"refusing to migrate: {problem.text}")
            return state
        pending = [f for f in layout.migrations() if (f.name, "pending") in state.migrations]
        for file in pending:
            started = time.perf_counter()
            _apply_migration(conn, file)
            say(f"applied   {file.name}  ({(time.perf_counter() - started) * 1000:.0f} ms)")
        function_problems = [p for p in state.problems if p.code == Exit.FUNCTIONS_DIFFER]
        for problem in function_problems:
            say(f"redeploying functions: {problem.text}")
        if function_problems:
            _deploy_functions(conn, layout, say)
        if not state.problems:
            say(f"nothing to do: {len(state.migrations)} migrations applied, {len(state.functions)} functions in sync")
        return state
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        conn.commit()


def _print_status(state: State) -> None:
    print("migrations:")
    for name, status in state.migrations or [("(none)", "")]:
        print(f"  {name:<40} {status}")
    print("functions:")
    for name, status in state.functions or [("(none)", "")]:
        print(f"  {name:<40} {status}")
    sync = "in sync" if not state.has(Exit.FUNCTIONS_DIFFER) else "NOT in sync with db/functions/"
    print(f"function set: {sync}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="migrations.py",
        description="Apply and check the database schema and functions.",
        epilog=__doc__[__doc__.index("Exit codes") :],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("command", choices=["status", "up", "verify"])
    parser.add_argument("--migrations-dir", type=Path, default=Layout.migrations_dir, metavar="DIR")
    parser.add_argument("--functions-dir", type=Path, default=Layout.functions_dir, metavar="DIR")
    args = parser.parse_args(argv)
    layout = Layout(args.migrations_dir, args.functions_dir)

    dsn = Settings().database_url
    if not dsn:
        print(
            "migrations.py: DATABASE_URL is not set (environment or .env); "
            "`make migrate` uses the embedded server when none is configured",
            file=sys.stderr,
        )
        return Exit.USAGE
    try:
        conn = connect(dsn)
    except psycopg2.OperationalError as exc:
        print(f"migrations.py: cannot reach the database: {str(exc).strip()}", file=sys.stderr)
        return Exit.FAILED
    try:
        if args.command == "up":
            state = up(conn, layout)
            return state.exit_code if state.has(*(c for c in Exit if c < Exit.PENDING)) else Exit.OK
        state = inspect(conn, layout)
        if args.command == "status":
            _print_status(state)
            return Exit.OK
        if not state.problems:
            print(f"verify: ok: {len(state.migrations)} migrations applied, {len(state.functions)} functions in sync")
        else:
            print(f"verify: {len(state.problems)} problem(s):")
            for problem in state.problems:
                print(f"  [{problem.code}] {problem.text}")
        return state.exit_code
    except MigrationError as exc:
        print(f"migrations.py: {exc}", file=sys.stderr)
        return Exit.FAILED
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())

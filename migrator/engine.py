"""Inspect a database against the checkout's files, and bring it in line (`up`)."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

import psycopg2
import psycopg2.errors
import psycopg2.extensions

from migrator import catalog
from migrator.files import FunctionFile, Layout, MigrationError, SqlFile, function_of, version

# The files of this checkout, where callers do not name others (tests do).
CHECKOUT = Layout()
# Any constant works; it only has to be the same for every runner of this project.
ADVISORY_LOCK_KEY = 0x6170_7063_6667  # "appcfg"
# Notified in the transaction of each migration and each deploy of the functions, so that it is
# heard as they commit: what the functions return may have changed, and an API then forgets the
# row versions it answers 304 from (api/db/listener.py listens; db/README.md, Row versions).
SCHEMA_CHANNEL = "appconfig_schema"


class Exit(IntEnum):
    """The exit codes of `migrations.py verify`; `up` refuses to run on 3, 4 and 5."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DATABASE_NEWER = 3
    MISSING = 4
    CHECKSUM_DRIFT = 5
    PENDING = 6
    FUNCTIONS_DIFFER = 7


class MigrationState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    NOT_IN_CHECKOUT = "applied, NOT IN THIS CHECKOUT"
    FILE_MISSING = "applied, FILE MISSING"
    FILE_CHANGED = "applied, FILE CHANGED SINCE"


class FunctionState(StrEnum):
    IN_SYNC = "in sync"
    NEW = "new in db/functions/, not deployed"
    REMOVED = "removed from db/functions/, still deployed"
    UNKNOWN = "in the database, but no file in db/functions/ defines it"
    CHANGED = "changed in db/functions/ since deployed"
    DROPPED = "dropped in the database by hand"
    DRIFTED = "drifted in the database: its definition is not the deployed one"

    @property
    def in_the_database(self) -> bool:
        """Whether someone changed the database, not the files."""
        return self in (FunctionState.UNKNOWN, FunctionState.DROPPED, FunctionState.DRIFTED)


# What `up` refuses to run over: the database does not hold what this checkout's history says.
REFUSALS = (Exit.DATABASE_NEWER, Exit.MISSING, Exit.CHECKSUM_DRIFT)


@dataclass(frozen=True)
class MigrationStatus:
    name: str
    state: MigrationState
    applied_at: datetime | None = None


@dataclass(frozen=True)
class FunctionStatus:
    name: str  # schema-qualified outside public
    state: FunctionState


@dataclass(frozen=True)
class Problem:
    code: Exit
    text: str


@dataclass
class State:
    """What the files say against what the database has, and every difference."""

    migrations: list[MigrationStatus] = field(default_factory=list)  # in version order
    functions: list[FunctionStatus] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def exit_code(self) -> Exit:
        return min((p.code for p in self.problems), default=Exit.OK)

    @property
    def pending(self) -> set[str]:
        return {m.name for m in self.migrations if m.state is MigrationState.PENDING}

    @property
    def refused(self) -> bool:
        """Whether `up` refuses this database (exit codes 3, 4, 5)."""
        return self.has(*REFUSALS)

    def has(self, *codes: Exit) -> bool:
        return any(p.code in codes for p in self.problems)


def connect(dsn: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(dsn, application_name="migrations.py")
    with conn.cursor() as cur:
        # Files create their objects in public, and pg_get_functiondef() output depends on the path.
        cur.execute("SET search_path = public")
    conn.commit()
    return conn


def inspect(conn: psycopg2.extensions.connection, layout: Layout = CHECKOUT) -> State:
    """Compare the files with the database without changing anything."""
    state = State()
    _inspect_migrations(conn, layout, state)
    _inspect_functions(conn, layout, state)
    return state


def _inspect_migrations(conn: psycopg2.extensions.connection, layout: Layout, state: State) -> None:
    files = {f.name: f for f in layout.migrations()}
    applied = catalog.recorded(conn, "migration")
    newest_file = max((version(name) for name in files), default="0000")

    for name in sorted(set(files) | set(applied), key=lambda n: (version(n), n)):
        file, record = files.get(name), applied.get(name)
        if record is None:
            state.migrations.append(MigrationStatus(name, MigrationState.PENDING))
            state.problems.append(Problem(Exit.PENDING, f"migration {name} is pending"))
            continue
        if file is None and version(name) > newest_file:
            status = MigrationState.NOT_IN_CHECKOUT
            problem = Problem(
                Exit.DATABASE_NEWER,
                f"migration {name} is applied but not in this checkout: the database is newer than the code",
            )
        elif file is None:
            status = MigrationState.FILE_MISSING
            problem = Problem(Exit.MISSING, f"migration {name} is applied but its file is missing")
        elif file.checksum != record.checksum:
            status = MigrationState.FILE_CHANGED
            problem = Problem(
                Exit.CHECKSUM_DRIFT,
                f"migration {name} was edited after it was applied "
                f"(checksum {record.checksum[:12]}… applied, {file.checksum[:12]}… on disk)",
            )
        else:
            status, problem = MigrationState.APPLIED, None
        state.migrations.append(MigrationStatus(name, status, record.applied_at))
        if problem is not None:
            state.problems.append(problem)


def _inspect_functions(conn: psycopg2.extensions.connection, layout: Layout, state: State) -> None:
    files = {f.function: f for f in layout.functions()}
    deployed = {function_of(name): record for name, record in catalog.recorded(conn, "function").items()}
    live = catalog.fingerprints(catalog.routines(conn))

    for name in sorted(set(files) | set(deployed) | set(live)):
        file, record, definition = files.get(name), deployed.get(name), live.get(name)
        if file is not None and record is None:
            status = FunctionState.NEW
        elif file is None and record is not None:
            status = FunctionState.REMOVED
        elif file is None:
            status = FunctionState.UNKNOWN
        elif file.checksum != record.checksum:
            status = FunctionState.CHANGED
        elif definition is None:
            status = FunctionState.DROPPED
        elif definition != record.definition:
            status = FunctionState.DRIFTED
        else:
            status = FunctionState.IN_SYNC
        state.functions.append(FunctionStatus(name, status))
        if status is not FunctionState.IN_SYNC:
            state.problems.append(Problem(Exit.FUNCTIONS_DIFFER, f"function {name}: {status.value}"))


def _execute_file(cur: psycopg2.extensions.cursor, file: SqlFile) -> None:
    for line, statement in file.statements():
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
            cur.execute("SELECT pg_notify(%s, %s)", (SCHEMA_CHANNEL, file.name))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _deploy_functions(
    conn: psycopg2.extensions.connection, files: list[FunctionFile], say: Callable[[str], None]
) -> None:
    by_function = {f.function: f for f in files}
    try:
        with conn.cursor() as cur:
            # Bodies may call functions from files later in the order; they are checked when called.
            cur.execute("SET LOCAL check_function_bodies = off")
            for file in files:
                started = time.perf_counter()
                _execute_file(cur, file)
                say(f"deployed  db/functions/{file.record_name}  ({(time.perf_counter() - started) * 1000:.0f} ms)")
            # CREATE OR REPLACE rewrites a function's pg_proc row even when nothing changed, so
            # a row this transaction did not write belongs to no file: a removed function or
            # the old overload of a changed signature.
            found = catalog.routines(conn)
            for routine in found:
                if routine.written_now and routine.name not in by_function:
                    raise MigrationError(f"function {routine.signature} is not named after the file that defines it")
            _drop_routines(cur, [routine for routine in found if not routine.written_now], say)
            kept = [routine for routine in found if routine.written_now]
            missing = sorted(set(by_function) - {routine.name for routine in kept})
            if missing:
                file = by_function[missing[0]]
                raise MigrationError(f"db/functions/{file.record_name} does not define a function of that name")
            live = catalog.fingerprints(kept)
            cur.execute("DELETE FROM migrations WHERE kind = 'function'")
            for file in files:
                cur.execute(
                    "INSERT INTO migrations (kind, name, checksum, definition) VALUES ('function', %s, %s, %s)",
                    (file.record_name, file.checksum, live[file.function]),
                )
            cur.execute("SELECT pg_notify(%s, 'functions')", (SCHEMA_CHANNEL,))
        conn.commit()
    except BaseException:
        conn.rollback()
        raise


def _drop_routines(cur: psycopg2.extensions.cursor, stale: list[catalog.Routine], say: Callable[[str], None]) -> None:
    """Drop them all, dependents first: an old SQL-bodied function may still call an old overload."""
    while stale:
        blocked = []
        for routine in stale:
            cur.execute("SAVEPOINT drop_routine")
            try:
                cur.execute(f"DROP ROUTINE {routine.signature}")
            except psycopg2.errors.DependentObjectsStillExist:
                cur.execute("ROLLBACK TO SAVEPOINT drop_routine")
                blocked.append(routine)
                continue
            cur.execute("RELEASE SAVEPOINT drop_routine")
            say(f"dropped   {routine.signature}  (no file in db/functions/ defines it)")
        if len(blocked) == len(stale):
            names = ", ".join(routine.signature for routine in blocked)
            raise MigrationError(f"cannot drop {names}: something outside db/functions/ depends on it")
        stale = blocked


def up(
    conn: psycopg2.extensions.connection, layout: Layout = CHECKOUT, say: Callable[[str], None] = lambda line: None
) -> State:
    """Apply pending migrations and redeploy the functions if they differ; the state before."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_is_in_recovery()")
        if cur.fetchone()[0]:
            # A standby takes the schema from its primary by replication, and refuses writes anyway.
            raise MigrationError("this server is a standby (in recovery): migrate its primary; `verify` may check it")
        cur.execute("SELECT pg_try_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
        if not cur.fetchone()[0]:
            say("waiting for another migration runner to finish")
            cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_KEY,))
    conn.commit()
    try:
        catalog.bootstrap(conn)
        state = inspect(conn, layout)
        if state.refused:
            for problem in state.problems:
                if problem.code in REFUSALS:
                    say(f"refusing to migrate: {problem.text}")
            return state
        for file in layout.migrations():
            if file.name in state.pending:
                started = time.perf_counter()
                _apply_migration(conn, file)
                say(f"applied   {file.name}  ({(time.perf_counter() - started) * 1000:.0f} ms)")
        function_problems = [p for p in state.problems if p.code == Exit.FUNCTIONS_DIFFER]
        for problem in function_problems:
            say(f"redeploying functions: {problem.text}")
        if function_problems:
            _deploy_functions(conn, layout.functions(), say)
        if not state.problems:
            say(f"nothing to do: {len(state.migrations)} migrations applied, {len(state.functions)} functions in sync")
        return state
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_KEY,))
        conn.commit()


def migrate(dsn: str, layout: Layout = CHECKOUT, say: Callable[[str], None] = lambda line: None) -> State:
    """`up` on a connection of its own to `dsn`, closed afterwards; the state before."""
    conn = connect(dsn)
    try:
        return up(conn, layout, say)
    finally:
        conn.close()

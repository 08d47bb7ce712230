"""Migration runner: versioned schema migrations, then the repeatable function set.

    uv run python migrations.py status | up | verify

- `migrations/NNNN_name.sql` are applied once each, in order, each in its own
  transaction, and recorded in the `migrations` table with their SHA-256.
- `db/functions/NAME.sql` each define the function NAME in schema public, and
  `db/functions/app_private/NAME.sql` the helper app_private.NAME. Whenever a file
  changed, was added or removed, or the database's definition drifted from the
  deployed one, the whole set is deployed again in one transaction and every
  function left in those schemas that no file defines is dropped.
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
import sys
from datetime import UTC
from pathlib import Path

import psycopg2

from migrator import Exit, Layout, MigrationError, State, connect, inspect, up
from settings import Settings


def _print_status(state: State) -> None:
    print("migrations:")
    for migration in state.migrations:
        when = f" {migration.applied_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" if migration.applied_at else ""
        status = migration.state.value.replace("applied", f"applied{when}", 1)
        print(f"  {migration.name:<40} {status}")
    if not state.migrations:
        print(f"  {'(none)':<40} ")
    print("functions:")
    for function in state.functions:
        # What is wrong in the database, not in the files, is shouted.
        status = function.state.value.upper() if function.state.in_the_database else function.state.value
        print(f"  {function.name:<40} {status}")
    if not state.functions:
        print(f"  {'(none)':<40} ")
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

    # Here, not at the top: importing the runner (as a deploy does) loads nothing of the dev tools.
    from devtools.database import database_url

    try:
        # A checkout with nothing configured migrates its development cluster, as `make run` serves it.
        conn = connect(database_url(Settings()))
    except (psycopg2.OperationalError, RuntimeError) as exc:
        print(f"migrations.py: cannot reach the database: {str(exc).strip()}", file=sys.stderr)
        return Exit.FAILED
    try:
        if args.command == "up":
            state = up(conn, layout, say=print)
            return state.exit_code if state.refused else Exit.OK
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

"""The migration engine on a real database: apply, verify, redeploy, refuse."""

import io
import re
import select
import subprocess
import tarfile
import threading
import time

import psycopg2
import pytest

import migrator
from migrator import Exit, Layout, MigrationError
from settings import PROJECT_ROOT
from testing.migrations import HELLO, codes, live_functions, query, run_up


def test_up_bootstraps_an_empty_database_with_the_exact_schema(conn, layout):
    state, lines = run_up(conn, layout)

    assert codes(state) == {Exit.PENDING, Exit.FUNCTIONS_DIFFER}
    assert re.fullmatch(r"applied   0001_init\.sql  \(\d+ ms\)", lines[0])
    columns = query(
        conn,
        "SELECT table_name, column_name, data_type, character_maximum_length, is_nullable"
        "  FROM information_schema.columns WHERE table_schema = 'public'"
        "   AND table_name IN ('applications', 'configurations') ORDER BY table_name, ordinal_position",
    )
    assert columns == [
        ("applications", "id", "text", None, "NO"),
        ("applications", "name", "character varying", 256, "NO"),
        ("applications", "comments", "character varying", 1024, "YES"),
        ("configurations", "id", "text", None, "NO"),
        ("configurations", "application_id", "text", None, "NO"),
        ("configurations", "name", "character varying", 256, "NO"),
        ("configurations", "comments", "character varying", 1024, "YES"),
        ("configurations", "config", "jsonb", None, "NO"),
    ]
    constraints = query(
        conn,
        "SELECT conrelid::regclass::text, contype, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid IN ('applications'::regclass, 'configurations'::regclass)"
        "   AND contype <> 't'"  # the revisions' constraint triggers are deployed with the functions, not DDL
        " ORDER BY 1, 2, 3",
    )
    assert constraints == [
        ("applications", "p", "PRIMARY KEY (id)"),
        ("applications", "u", "UNIQUE (name)"),
        ("configurations", "f", "FOREIGN KEY (application_id) REFERENCES applications(id)"),
        ("configurations", "p", "PRIMARY KEY (id)"),
        ("configurations", "u", "UNIQUE (application_id, name)"),
    ]
    assert query(conn, "SELECT indexname FROM pg_indexes WHERE indexname = 'idx_configurations_app_id'")
    recorded = query(conn, "SELECT name, checksum FROM migrations WHERE kind = 'migration' ORDER BY name")
    assert recorded == [(f.name, f.checksum) for f in layout.migrations()]
    assert live_functions(conn) == {f.function for f in layout.functions()}
    assert migrator.inspect(conn, layout).problems == []


def test_second_up_changes_nothing_and_says_so(conn, layout):
    run_up(conn, layout)
    before = query(conn, "SELECT kind, name, checksum, definition, applied_at FROM migrations ORDER BY 1, 2")

    state, lines = run_up(conn, layout)

    assert state.problems == []
    assert lines == [
        f"nothing to do: {len(layout.migrations())} migrations applied, {len(layout.functions())} functions in sync"
    ]
    assert query(conn, "SELECT kind, name, checksum, definition, applied_at FROM migrations ORDER BY 1, 2") == before


def test_pending_migration_is_reported_then_applied(conn, layout):
    run_up(conn, layout)
    (layout.migrations_dir / "0005_add_table.sql").write_text("CREATE TABLE extra (id int);\n")

    state = migrator.inspect(conn, layout)
    assert codes(state) == {Exit.PENDING}
    assert state.pending == {"0005_add_table.sql"}

    _, lines = run_up(conn, layout)
    assert lines[0].startswith("applied   0005_add_table.sql")
    assert query(conn, "SELECT to_regclass('extra') IS NOT NULL") == [(True,)]
    assert migrator.inspect(conn, layout).problems == []


def test_edited_migration_is_checksum_drift_and_up_refuses(conn, layout):
    run_up(conn, layout)
    (layout.migrations_dir / "0005_later.sql").write_text("CREATE TABLE later (id int);\n")
    init = layout.migrations_dir / "0001_init.sql"
    init.write_text(init.read_text() + "\n-- an innocent comment is still an edit\n")

    state, lines = run_up(conn, layout)

    assert state.exit_code == Exit.CHECKSUM_DRIFT
    assert "0001_init.sql" in lines[0] and lines[0].startswith("refusing to migrate")
    assert query(conn, "SELECT to_regclass('later')") == [(None,)]


def test_missing_applied_file_is_reported(conn, layout):
    (layout.migrations_dir / "0005_later.sql").write_text("CREATE TABLE later (id int);\n")
    run_up(conn, layout)
    (layout.migrations_dir / "0001_init.sql").unlink()

    state = migrator.inspect(conn, layout)

    assert state.exit_code == Exit.MISSING
    assert any("0001_init.sql" in p.text for p in state.problems)


def test_database_newer_than_code_is_reported_and_up_refuses(conn, layout):
    newer = layout.migrations_dir / "0005_newer.sql"
    newer.write_text("CREATE TABLE newer (id int);\n")
    run_up(conn, layout)
    newer.unlink()
    (layout.functions_dir / "hello.sql").write_text(HELLO)

    state, lines = run_up(conn, layout)

    assert state.exit_code == Exit.DATABASE_NEWER
    assert any("0005_newer.sql" in line for line in lines)
    assert "hello" not in live_functions(conn)


def test_failing_migration_leaves_nothing_behind_and_names_file_and_line(conn, layout):
    run_up(conn, layout)
    bad = layout.migrations_dir / "0005_bad.sql"
    bad.write_text(
        "-- a good statement, then a bad one\nCREATE TABLE half (id int);\n\nINSERT INTO half\n  VALUES (1), (1 / 0);\n"
    )

    with pytest.raises(MigrationError) as failure:
        run_up(conn, layout)

    assert f"{bad} line 4" in str(failure.value)
    assert "division by zero" in str(failure.value)
    assert query(conn, "SELECT to_regclass('half')") == [(None,)]
    assert query(conn, "SELECT count(*) FROM migrations WHERE name = '0005_bad.sql'") == [(0,)]


def test_error_position_inside_a_statement_gives_its_line(conn, layout):
    bad = layout.migrations_dir / "0005_typo.sql"
    bad.write_text("CREATE TABLE ok (id int);\nSELECT id,\n       no_such_column\n  FROM ok;\n")

    with pytest.raises(MigrationError, match=r"0005_typo\.sql line 3: ERROR: column \"no_such_column\""):
        run_up(conn, layout)


def test_two_concurrent_ups_apply_each_migration_once(empty_dsn, layout):
    (layout.migrations_dir / "0005_slow.sql").write_text("SELECT pg_sleep(0.5);\nCREATE TABLE slow (id int);\n")
    results: dict[str, list[str]] = {}
    started = threading.Barrier(2)

    def runner(label: str) -> None:
        conn = migrator.connect(empty_dsn)
        try:
            started.wait()
            results[label] = run_up(conn, layout)[1]
        finally:
            conn.close()

    threads = [threading.Thread(target=runner, args=(label,)) for label in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    outputs = sorted(results.values(), key=len)
    assert len(outputs) == 2
    assert outputs[0][-1].startswith("nothing to do")  # the one that waited
    assert sum(line.startswith("applied") for output in outputs for line in output) == len(layout.migrations())
    conn = migrator.connect(empty_dsn)
    assert query(conn, "SELECT count(*) FROM migrations WHERE kind = 'migration'") == [(len(layout.migrations()),)]
    conn.close()


def test_changed_function_file_is_redeployed(conn, layout):
    (layout.functions_dir / "hello.sql").write_text(HELLO)
    run_up(conn, layout)
    (layout.functions_dir / "hello.sql").write_text(HELLO.replace("'hello '", "'hi '"))

    assert [p.text for p in migrator.inspect(conn, layout).problems] == [
        "function hello: changed in db/functions/ since deployed"
    ]
    _, lines = run_up(conn, layout)

    assert any(line.startswith("deployed  db/functions/hello.sql") for line in lines)
    assert query(conn, "SELECT hello('you')") == [("hi you",)]
    assert migrator.inspect(conn, layout).problems == []


def test_removed_function_file_drops_the_function(conn, layout):
    (layout.functions_dir / "hello.sql").write_text(HELLO)
    run_up(conn, layout)
    (layout.functions_dir / "hello.sql").unlink()

    _, lines = run_up(conn, layout)

    assert "dropped   hello(text)  (no file in db/functions/ defines it)" in lines
    assert "hello" not in live_functions(conn)
    assert migrator.inspect(conn, layout).problems == []


def test_changed_signature_leaves_no_old_overload(conn, layout):
    (layout.functions_dir / "hello.sql").write_text(HELLO)
    run_up(conn, layout)
    (layout.functions_dir / "hello.sql").write_text(
        HELLO.replace("p_name text)", "p_name text, p_greeting text DEFAULT 'hello')").replace(
            "'hello ' || p_name", "p_greeting || ' ' || p_name"
        )
    )

    run_up(conn, layout)

    assert query(conn, "SELECT oid::regprocedure::text FROM pg_proc WHERE proname = 'hello'") == [("hello(text,text)",)]
    assert query(conn, "SELECT hello('you', 'hey')") == [("hey you",)]


def test_function_replaced_by_hand_is_caught_by_verify_and_restored_by_up(conn, layout):
    run_up(conn, layout)
    query(
        conn,
        "CREATE OR REPLACE FUNCTION app_private.ulid_generate() RETURNS text LANGUAGE sql"
        " AS $$ SELECT '00000000000000000000000000' $$; SELECT 1",
    )

    state = migrator.inspect(conn, layout)
    assert state.exit_code == Exit.FUNCTIONS_DIFFER
    assert [p.text for p in state.problems] == [
        "function app_private.ulid_generate: drifted in the database: its definition is not the deployed one"
    ]

    run_up(conn, layout)
    assert query(conn, "SELECT app_private.ulid_generate() <> '00000000000000000000000000'") == [(True,)]
    assert migrator.inspect(conn, layout).problems == []


def test_function_added_or_dropped_by_hand_is_caught(conn, layout):
    run_up(conn, layout)
    query(conn, HELLO + "; SELECT 1")
    query(conn, "DROP FUNCTION app_private.ulid_generate(); SELECT 1")

    problems = sorted(p.text for p in migrator.inspect(conn, layout).problems)

    assert problems == [
        "function app_private.ulid_generate: dropped in the database by hand",
        "function hello: in the database, but no file in db/functions/ defines it",
    ]


def test_function_file_must_define_the_function_it_is_named_after(conn, layout):
    (layout.functions_dir / "greet.sql").write_text(HELLO)

    with pytest.raises(MigrationError, match="not named after the file"):
        run_up(conn, layout)

    assert "hello" not in live_functions(conn)
    assert query(conn, "SELECT count(*) FROM migrations WHERE kind = 'function'") == [(0,)]


def test_function_file_may_call_a_function_defined_later_in_the_order(conn, layout):
    (layout.functions_dir / "a_caller.sql").write_text(
        "CREATE OR REPLACE FUNCTION a_caller() RETURNS text LANGUAGE sql"
        " SET search_path = pg_catalog, public, pg_temp AS $$ SELECT hello('a') $$;\n"
    )
    (layout.functions_dir / "hello.sql").write_text(HELLO)

    run_up(conn, layout)

    assert query(conn, "SELECT a_caller()") == [("hello a",)]


def test_misnamed_migration_file_is_an_error(layout):
    (layout.migrations_dir / "2_oops.sql").write_text("SELECT 1;\n")

    with pytest.raises(MigrationError, match="NNNN_lower_snake"):
        layout.migrations()


def test_up_killed_halfway_leaves_a_consistent_recorded_version_and_the_next_up_completes(empty_dsn, layout):
    import os
    import signal
    import subprocess
    import sys
    import time

    sleeping = "SELECT pg_sleep(30)%"
    (layout.migrations_dir / "0005_slow.sql").write_text(
        "CREATE TABLE slow_first (id int);\nSELECT pg_sleep(30);\nCREATE TABLE slow_second (id int);\n"
    )
    args = ["--migrations-dir", str(layout.migrations_dir), "--functions-dir", str(layout.functions_dir)]
    runner = subprocess.Popen(
        [sys.executable, "migrations.py", "up", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": empty_dsn},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conn = migrator.connect(empty_dsn)
    try:
        deadline = time.monotonic() + 60  # until the slow migration is half done (later on a loaded machine)
        while query(conn, "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s", (sleeping,)) != [(1,)]:
            assert time.monotonic() < deadline and runner.poll() is None, "the slow migration never started"
            time.sleep(0.05)
        runner.send_signal(signal.SIGKILL)
        runner.wait(10)
        # The server ends the orphaned session (and so its transaction and lock) by itself;
        # terminating it just saves this test the 30 seconds. With a timeout, it waits until the
        # session has gone and its lock with it (else the next up may first wait for that lock).
        query(conn, "SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE query LIKE %s", (sleeping,))

        state = migrator.inspect(conn, layout)
        applied = [m.name for m in state.migrations if m.state is not migrator.MigrationState.PENDING]
        assert applied == ["0001_init.sql", "0002_api_role.sql", "0003_private_schema.sql", "0004_revisions.sql"]
        assert query(conn, "SELECT to_regclass('slow_first')") == [(None,)]

        (layout.migrations_dir / "0005_slow.sql").write_text("CREATE TABLE slow_first (id int);\n")
        _, lines = run_up(conn, layout)
        assert lines[0].startswith("applied   0005_slow.sql")
        assert migrator.inspect(conn, layout).problems == []
    finally:
        conn.close()


# The last commit before the helpers moved to app_private and app_list gained p_name.
BEFORE_THE_PRIVATE_SCHEMA = "dc0314f"


def test_a_database_deployed_before_the_private_schema_upgrades_in_one_up(conn, tmp_path):
    archive = subprocess.run(
        ["git", "archive", BEFORE_THE_PRIVATE_SCHEMA, "migrations", "db/functions"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(tmp_path, filter="data")
    run_up(conn, Layout(tmp_path / "migrations", tmp_path / "db" / "functions"))
    assert "field_check" in live_functions(conn)  # the helpers in public, as they were

    state, lines = run_up(conn, Layout())

    assert codes(state) == {Exit.PENDING, Exit.FUNCTIONS_DIFFER}
    assert migrator.inspect(conn, Layout()).problems == []
    assert live_functions(conn) == {f.function for f in Layout().functions()}
    assert "dropped   field_check(text,text,integer,boolean)  (no file in db/functions/ defines it)" in lines


def test_old_overloads_are_dropped_even_when_one_calls_another(conn, layout):
    # SQL-bodied functions record what they call: the old `outer` must go before the old `inner`.
    inner, outer = layout.functions_dir / "a_inner.sql", layout.functions_dir / "b_outer.sql"
    body = "CREATE OR REPLACE FUNCTION {name}(x {type}) RETURNS {type} LANGUAGE sql IMMUTABLE RETURN {value};\n"
    for kind in ("integer", "bigint"):
        inner.write_text(body.format(name="a_inner", type=kind, value="x"))
        outer.write_text(body.format(name="b_outer", type=kind, value="a_inner(x)"))
        run_up(conn, layout)

    assert migrator.inspect(conn, layout).problems == []
    assert query(conn, "SELECT b_outer(7::bigint)") == [(7,)]
    assert query(conn, "SELECT count(*) FROM pg_proc WHERE proname IN ('a_inner', 'b_outer')") == [(2,)]


def _schema_notifications(listening, conn) -> list[str]:
    """What was notified since the last call: all that arrives before a marker sent now, since a
    listener hears notifications in the order their transactions committed."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_notify(%s, 'marker')", (migrator.SCHEMA_CHANNEL,))
    conn.commit()
    heard, deadline = [], time.monotonic() + 10
    while True:
        select.select([listening], [], [], 0.1)
        listening.poll()
        while listening.notifies:
            payload = listening.notifies.pop(0).payload
            if payload == "marker":
                return heard
            heard.append(payload)
        assert time.monotonic() < deadline, "the marker never arrived"


@pytest.fixture
def listening(empty_dsn):
    """A session LISTENing to the channel the runner notifies, as an API's listener does."""
    connection = psycopg2.connect(empty_dsn)
    connection.autocommit = True
    with connection.cursor() as cur:
        cur.execute(f"LISTEN {migrator.SCHEMA_CHANNEL}")
    yield connection
    connection.close()


def test_each_migration_and_each_deploy_of_the_functions_is_notified_as_it_commits_and_nothing_else(
    conn, layout, listening
):
    run_up(conn, layout)
    assert _schema_notifications(listening, conn) == [file.name for file in layout.migrations()] + ["functions"]

    run_up(conn, layout)
    assert _schema_notifications(listening, conn) == []  # nothing changed

    (layout.migrations_dir / "0005_add_table.sql").write_text("CREATE TABLE extra (id int);\n")
    (layout.migrations_dir / "0006_fails.sql").write_text("SELECT 1/0;\n")
    with pytest.raises(MigrationError):
        run_up(conn, layout)
    assert _schema_notifications(listening, conn) == ["0005_add_table.sql"]  # the failed one rolled back, unheard

    (layout.migrations_dir / "0006_fails.sql").unlink()
    (layout.functions_dir / "hello.sql").write_text(HELLO)
    run_up(conn, layout)
    assert _schema_notifications(listening, conn) == ["functions"]

"""migrations.py, the CLI over the migrator: its commands, output and exit codes."""

import pytest

import migrations
import migrator
from migrator import Exit
from testing.migrations import HELLO, query


@pytest.mark.parametrize(("command", "expected"), [("verify", Exit.PENDING), ("up", Exit.OK), ("status", Exit.OK)])
def test_cli_on_a_fresh_database(empty_dsn, monkeypatch, capsys, command, expected):
    monkeypatch.setenv("DATABASE_URL", empty_dsn)

    assert migrations.main([command]) == expected
    assert capsys.readouterr().out


def test_cli_exit_codes_follow_the_state(empty_dsn, monkeypatch, capsys, layout):
    monkeypatch.setenv("DATABASE_URL", empty_dsn)
    args = ["--migrations-dir", str(layout.migrations_dir), "--functions-dir", str(layout.functions_dir)]

    assert migrations.main(["up", *args]) == Exit.OK
    assert migrations.main(["verify", *args]) == Exit.OK
    assert capsys.readouterr().out.splitlines()[-1].startswith("verify: ok")

    init = layout.migrations_dir / "0001_init.sql"
    init.write_text(init.read_text() + "-- edited\n")
    assert migrations.main(["verify", *args]) == Exit.CHECKSUM_DRIFT
    assert "0001_init.sql" in capsys.readouterr().out
    assert migrations.main(["up", *args]) == Exit.CHECKSUM_DRIFT

    (layout.migrations_dir / "0005_bad.sql").write_text("SELEC 1;\n")
    init.write_text(init.read_text().replace("-- edited\n", ""))
    assert migrations.main(["up", *args]) == Exit.FAILED
    assert "0005_bad.sql line 1" in capsys.readouterr().err

    assert migrations.main(["status", *args]) == Exit.OK
    assert "0005_bad.sql" in capsys.readouterr().out


def test_cli_reports_an_unreachable_database(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"host={tmp_path} port=1 dbname=none connect_timeout=2")

    assert migrations.main(["verify"]) == Exit.FAILED
    assert "cannot reach the database" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        migrations.main(["--help"])

    out = capsys.readouterr().out
    for code in Exit:
        assert f"  {code.value}  " in out


def test_status_reports_each_state_of_migrations_and_functions(empty_dsn, monkeypatch, capsys, layout):
    monkeypatch.setenv("DATABASE_URL", empty_dsn)
    args = ["--migrations-dir", str(layout.migrations_dir), "--functions-dir", str(layout.functions_dir)]
    (layout.migrations_dir / "0005_later.sql").write_text("CREATE TABLE later (id int);\n")
    assert migrations.main(["up", *args]) == Exit.OK
    init = layout.migrations_dir / "0001_init.sql"
    init.write_text(init.read_text() + "-- edited\n")
    (layout.migrations_dir / "0002_api_role.sql").unlink()
    (layout.migrations_dir / "0005_later.sql").unlink()
    (layout.migrations_dir / "0005_next.sql").write_text("SELECT 1;\n")
    (layout.functions_dir / "hello.sql").write_text(HELLO)
    capsys.readouterr()

    assert migrations.main(["status", *args]) == Exit.OK

    report = {line.split()[0]: line for line in capsys.readouterr().out.splitlines() if line.startswith("  ")}
    assert report["0001_init.sql"].endswith("FILE CHANGED SINCE")
    assert report["0002_api_role.sql"].endswith("FILE MISSING")
    assert report["0005_later.sql"].endswith("FILE MISSING")  # a later file (0005) is here
    assert report["0005_next.sql"].endswith("pending")
    assert report["hello"].endswith("new in db/functions/, not deployed")
    assert report["app_private.ulid_generate"].endswith("in sync")
    assert report["app_get"].endswith("in sync")


def test_status_says_when_the_database_is_newer_and_the_functions_drifted(empty_dsn, monkeypatch, capsys, layout):
    monkeypatch.setenv("DATABASE_URL", empty_dsn)
    args = ["--migrations-dir", str(layout.migrations_dir), "--functions-dir", str(layout.functions_dir)]
    (layout.migrations_dir / "0005_later.sql").write_text("CREATE TABLE later (id int);\n")
    assert migrations.main(["up", *args]) == Exit.OK
    (layout.migrations_dir / "0005_later.sql").unlink()
    conn = migrator.connect(empty_dsn)
    query(
        conn,
        "CREATE OR REPLACE FUNCTION app_private.ulid_generate() RETURNS text LANGUAGE sql"
        " AS $$ SELECT 'x' $$; SELECT 1",
    )
    conn.close()
    capsys.readouterr()

    assert migrations.main(["status", *args]) == Exit.OK

    out = capsys.readouterr().out
    assert "0005_later.sql" in out and "NOT IN THIS CHECKOUT" in out
    assert "DRIFTED IN THE DATABASE" in out
    assert "function set: NOT in sync with db/functions/" in out

"""`make run`: serving on the embedded cluster when nothing is configured, migrated first."""

import os

import psycopg2
import pytest

import migrator
from api.server import serve as api_serve
from devtools import embedded, serve
from devtools.api_process import free_port
from settings import Settings

pytestmark = pytest.mark.own_process  # starts PostgreSQL clusters of its own


@pytest.fixture
def embedded_env(tmp_path, monkeypatch):
    """Environment for `python -m api` with nothing configured, its cluster removed afterwards."""
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("EMBEDDED_DIR", str(tmp_path / ".data"))
    monkeypatch.setenv("EMBEDDED_PORT", str(free_port()))
    monkeypatch.setenv("PIN_CPU", "false")  # main() runs in this test process: it must keep every CPU
    served: list[dict] = []
    monkeypatch.setattr(
        api_serve.uvicorn,
        "run",
        lambda app, **options: served.append(
            {"app": app, "metrics_dir": os.environ.get("PROMETHEUS_MULTIPROC_DIR"), **options}
        ),
    )
    yield served
    embedded.development_cluster(Settings()).remove()


def test_run_with_nothing_configured_serves_on_a_migrated_embedded_cluster(embedded_env, monkeypatch):
    assert serve.main([]) == 0

    dsn = os.environ["DATABASE_URL"]
    assert dsn == embedded.development_cluster(Settings()).dsn()
    conn = migrator.connect(dsn)
    assert migrator.inspect(conn).problems == []
    conn.close()
    [options] = embedded_env
    assert options["app"] == "api.app:create_app" and options["factory"] is True
    assert options["reload"] is False
    assert options["workers"] == 1

    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("WORKERS", "3")
    assert serve.main([]) == 0  # the second run reuses the cluster
    assert embedded_env[1]["workers"] == 3
    # Several workers count into files of a directory made for the run, and gone with it.
    assert embedded_env[0]["metrics_dir"] is None
    assert embedded_env[1]["metrics_dir"] and not os.path.exists(embedded_env[1]["metrics_dir"])
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ

    monkeypatch.setenv("DATABASE_URL", "")
    assert serve.main(["--reload"]) == 0
    assert embedded_env[2]["reload"] is True
    assert embedded_env[2]["workers"] is None  # uvicorn reloads one process only


def test_run_refuses_a_database_that_does_not_match_the_checkout(embedded_env):
    dsn = embedded.development_cluster(Settings()).ensure_running()
    conn = psycopg2.connect(dsn)
    with conn.cursor() as cur:
        cur.execute(migrator.BOOTSTRAP)
        cur.execute("INSERT INTO migrations (kind, name, checksum) VALUES ('migration', '9999_future.sql', 'x')")
    conn.commit()
    conn.close()

    assert serve.main([]) == 1
    assert embedded_env == []


def test_run_with_database_url_starts_nothing(embedded_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")

    assert serve.main([]) == 0
    assert not (tmp_path / ".data").exists()
    assert embedded_env[0]["host"] == "127.0.0.1"

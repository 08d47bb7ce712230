import signal
import threading
import time

import httpx
import pytest

from api.server import serve
from testing.concurrency import hold_row_lock


@pytest.fixture
def uvicorn_runs(monkeypatch) -> list[dict]:
    """What `uvicorn.run` would have been asked to serve, instead of serving."""
    served: list[dict] = []
    monkeypatch.setattr(serve.uvicorn, "run", lambda app, **options: served.append({"app": app, **options}))
    monkeypatch.setenv("PIN_CPU", "false")  # main() runs in this test process: it must keep every CPU
    return served


def test_without_a_database_url_it_refuses_to_serve_and_starts_nothing(uvicorn_runs, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "")
    monkeypatch.setenv("EMBEDDED_DIR", str(tmp_path / ".data"))

    assert serve.main([]) == 2
    assert uvicorn_runs == []
    assert not (tmp_path / ".data").exists()


def test_with_a_database_url_it_serves_the_app_factory(uvicorn_runs, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://elsewhere/db")

    assert serve.main([]) == 0
    [options] = uvicorn_runs
    assert options["app"] == "api.app:create_app" and options["factory"] is True
    assert options["host"] == "127.0.0.1" and options["workers"] == 1


def test_sigterm_lets_requests_in_flight_finish_then_stops_cleanly(migrated_dsn, launch_api):
    server, base, log = launch_api(migrated_dsn, SHUTDOWN_TIMEOUT="10")
    app_id = httpx.post(f"{base}/api/v1/applications", json={"name": "in-flight"}).json()["id"]
    holder = hold_row_lock(migrated_dsn, app_id, 1.5)  # the PUT below waits on it
    result: dict = {}

    def put() -> None:
        result["response"] = httpx.put(f"{base}/api/v1/applications/{app_id}", json={"name": "done"}, timeout=10)

    request = threading.Thread(target=put)
    request.start()
    time.sleep(0.5)
    server.send_signal(signal.SIGTERM)
    request.join(10)
    holder.join()
    server.wait(15)

    assert result["response"].status_code == 200
    assert result["response"].json()["name"] == "done"
    # uvicorn finishes its graceful shutdown, then re-raises the signal: the exit a supervisor expects.
    assert server.returncode in (0, -signal.SIGTERM)
    output = log.read_text()
    assert "API stopped: pool closed" in output
    assert " ERROR " not in output and "Traceback" not in output

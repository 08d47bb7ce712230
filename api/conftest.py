"""Fixtures for the API tests: the app on a freshly migrated database, through httpx."""

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, sync_playwright

from api.app import create_app
from devtools.api_process import ApiProcess
from settings import Settings


@pytest.fixture
def settings(migrated_dsn: str) -> Settings:
    return Settings(_env_file=None, database_url=migrated_dsn, pool_min_size=1, pool_max_size=4, pool_timeout=2)


@pytest.fixture(scope="session")
def _shared_client(_shared_database: str) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=_shared_database, pool_min_size=1, pool_max_size=4, pool_timeout=2)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def client(migrated_dsn: str, _shared_client: TestClient) -> TestClient:
    """The app on the emptied shared database, through httpx. One app serves every test (its
    start-up and pool cost more than most tests): a test that needs an app of its own makes it
    from `settings`."""
    return _shared_client


@pytest.fixture
def rows(migrated_dsn: str) -> Callable[..., list[tuple]]:
    """`rows("SELECT ...")`: what the database holds now, read on a connection of its own."""

    def rows(statement: str, params: tuple = ()) -> list[tuple]:
        conn = psycopg2.connect(migrated_dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        finally:
            conn.close()

    return rows


@pytest.fixture
def problem() -> Callable[..., dict]:
    """`problem(response, 409, "23505")`: asserts an RFC 9457 problem with that status and SQLSTATE; its body."""

    def problem(response, status: int, sqlstate: str | None = None) -> dict:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["status"] == status and body["type"] == "about:blank"
        assert body["title"] and body["detail"]
        assert body.get("sqlstate") == sqlstate
        return body

    return problem


@pytest.fixture
def launch_api(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, str, Path]]]:
    """`launch_api(dsn, NAME=value, ...)`: `python -m api` in a process of its own, serving.

    Returns the process, its base URL and the file its log goes to; stopped after the test.
    Several workers keep their normal CPU priority unless a test says otherwise: at idle priority
    they would wait for the test runners beside them, which keep the cores busy.
    """
    started: list[ApiProcess] = []

    def launch(dsn: str, **env: str) -> tuple[subprocess.Popen, str, Path]:
        env = {"WORKERS_YIELD_CPU": "false"} | env
        api = ApiProcess(dsn, tmp_path / f"api-{len(started)}.log", start_timeout=15, **env)
        started.append(api)
        return api.process, api.base, api.log

    yield launch
    for api in started:
        api.stop()


@pytest.fixture(scope="session")
def live_api(_shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `python -m api` for the tests that drive it only from outside (schemathesis, the
    browser), on the shared database: its base URL."""
    api = ApiProcess(_shared_database, tmp_path_factory.mktemp("live-api") / "api.log", LOG_LEVEL="WARNING")
    yield api.base
    api.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright; `make test` installs it when it is missing
    (scripts/toolchain.sh --browser), and the tests that take it never skip."""
    chromium = shutil.which("chromium")
    assert chromium, "Chromium is missing: `make test` installs it (bash scripts/toolchain.sh --browser)"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium,
            # As root (CI) Chromium needs --no-sandbox; the rest keep it from calling home.
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
        )
        yield browser
        browser.close()

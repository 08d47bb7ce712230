"""Fixtures for the API tests: the app on a freshly migrated database, through httpx."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg2
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import PROJECT_ROOT, Settings


@pytest.fixture
def settings(migrated_dsn: str) -> Settings:
    return Settings(_env_file=None, database_url=migrated_dsn, pool_min_size=1, pool_max_size=4, pool_timeout=2)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def launch_api(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen, str, Path]]]:
    """`launch_api(dsn, NAME=value, ...)`: `python -m api` in a process of its own, serving.

    Returns the process, its base URL and the file its log goes to; stopped after the test.
    """
    processes: list[subprocess.Popen] = []

    def launch(dsn: str, **env: str) -> tuple[subprocess.Popen, str, Path]:
        port = free_port()
        log = tmp_path / f"api-{port}.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "api"],
                env={**os.environ, "DATABASE_URL": dsn, "PORT": str(port), **env},
                stdout=sink,
                stderr=sink,
                cwd=PROJECT_ROOT,
            )
        processes.append(process)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    return process, base, log
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the API did not start: {log.read_text()}")

    yield launch
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(15)

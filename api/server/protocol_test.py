"""A request head too large or too slow, against a real `python -m api`: 431 or 408 at once, the
connection closed, and the service answering everyone else meanwhile."""

import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from devtools.api_process import ApiProcess

pytestmark = pytest.mark.own_process


@pytest.fixture(scope="module")
def base(_shared_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One `python -m api` for these tests, with a small head limit and a one-second head timeout."""
    log = tmp_path_factory.mktemp("bounded-heads") / "api.log"
    with ApiProcess(
        _shared_database, log, MAX_HEAD_BYTES="16384", HEAD_TIMEOUT_SECONDS="1", LOG_LEVEL="WARNING"
    ) as api:
        yield api.base


def exchange(base: str, *chunks: bytes, pause: float = 0.0, timeout: float = 10.0) -> tuple[bytes, float]:
    """Send `chunks` on a connection of its own (`pause` seconds apart); what came back until the
    server closed it, and when it did."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=timeout) as conn:
        try:
            for chunk in chunks:
                conn.sendall(chunk)
                if select.select([conn], [], [], pause)[0]:
                    break  # the server has answered: stop sending, or what is unread resets the connection
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed by the server while we were still sending
        received = b""
        try:
            while data := conn.recv(65536):
                received += data
        except ConnectionResetError:
            pass
    return received, time.monotonic() - started


def test_a_head_over_the_limit_is_431_at_once_and_others_are_served(base):
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + b"x" * 10_000_000 + b"\r\n\r\n"

    received, took = exchange(base, *(head[i : i + 8192] for i in range(0, len(head), 8192)))

    assert received.startswith(b"HTTP/1.1 431 ") and b'"status": 431' in received
    assert took < 5
    assert httpx.get(f"{base}/healthz").status_code == 200
    near_limit = {"X-Padding": "x" * 15_000}
    assert httpx.get(f"{base}/healthz", headers=near_limit).status_code == 200


def test_a_head_dribbled_slower_than_the_timeout_is_408_and_closed(base):
    dribble = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow: 1\r\n"] * 20  # 0.2 s apart: 4 s in all

    received, took = exchange(base, *dribble, pause=0.2)

    assert received.startswith(b"HTTP/1.1 408 ")
    assert took < 4.5
    assert httpx.get(f"{base}/healthz").status_code == 200


def test_a_connection_that_sends_nothing_is_closed_after_the_timeout(base):

    received, took = exchange(base)

    assert received.startswith(b"HTTP/1.1 408 ") and 0.9 < took < 5


def test_a_kept_alive_connection_and_a_long_poll_outlast_the_head_timeout(migrated_dsn, base):
    with httpx.Client(base_url=base) as client:
        created = client.post("/api/v1/applications", json={"name": "held"})
        path = created.headers["Location"]
        held = client.get(f"{path}?wait=2", headers={"If-None-Match": created.headers["ETag"]})  # 2 s > 1 s
        again = client.get(path)

    assert held.status_code == 304 and again.status_code == 200


def test_one_endless_header_line_is_431_once_it_passes_the_limit(base):
    # httptools hands a header over only when its line ends: this one never does.
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Endless: " + b"x" * 2_000_000

    received, took = exchange(base, *(head[i : i + 8192] for i in range(0, len(head), 8192)))

    assert received.startswith(b"HTTP/1.1 431 ") and received.count(b"HTTP/1.1") == 1
    assert took < 5

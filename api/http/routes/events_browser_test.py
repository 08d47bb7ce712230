"""An EventSource in a real browser (Debian's Chromium, headless) loses its connection, and comes
back by itself with Last-Event-ID: it gets exactly the changes it missed, then the live ones."""

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from testing.live_api import psql

FOLLOW = """
(path) => {
  window.received = [];
  const stream = new EventSource(path);
  for (const kind of ["subscribed", "created", "updated", "deleted", "resync"]) {
    stream.addEventListener(kind, (event) => window.received.push({kind, id: event.lastEventId, data: event.data}));
  }
}
"""


class CuttableProxy:
    """A TCP proxy to the API that can drop every connection and refuse new ones for a while: what
    a network blip or a restarting load balancer does to a stream."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open = threading.Event()
        self.open.set()
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open.is_set():
                client.close()  # refused: the browser tries again after the stream's retry delay
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.connections += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            source.close()  # each socket is the source of one pipe

    def cut(self) -> None:
        """Drop every connection and refuse new ones until `restore()`."""
        self.open.clear()
        with self.lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            self.connections.clear()

    def restore(self) -> None:
        self.open.set()

    def close(self) -> None:
        self.cut()
        self.listener.close()


@pytest.fixture
def proxy(migrated_dsn, launch_api) -> Iterator[tuple[CuttableProxy, str]]:
    _, base, _ = launch_api(migrated_dsn)
    proxy = CuttableProxy(int(base.rsplit(":", 1)[1]))
    yield proxy, base
    proxy.close()


def received(page, count: int, seconds: float = 15) -> list[dict]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events = page.evaluate("window.received")
        if len(events) >= count:
            return events
        time.sleep(0.05)
    raise AssertionError(f"{count} events expected, got {page.evaluate('window.received')}")


def test_an_event_source_that_lost_its_connection_gets_what_it_missed_once_and_in_order(browser, proxy, migrated_dsn):
    proxy, base = proxy
    app = httpx.post(f"{base}/api/v1/applications", json={"name": "followed"}).json()
    config = httpx.post(
        f"{base}/api/v1/configurations", json={"application_id": app["id"], "name": "p", "config": {"v": 0}}
    ).json()
    page = browser.new_context().new_page()
    page.goto(f"http://127.0.0.1:{proxy.port}/docs")  # the API's own origin, through the proxy
    page.evaluate(FOLLOW, f"/api/v1/applications/{app['id']}/events")
    received(page, 1)

    def change(v: int) -> None:  # a DBA's raw edit: recorded and announced all the same
        psql(
            migrated_dsn,
            "UPDATE configurations SET config = jsonb_build_object('v', %s) WHERE id = %s",
            v,
            config["id"],
        )

    change(1)
    received(page, 2)
    proxy.cut()
    for v in (2, 3, 4):  # missed: the browser cannot reach the API meanwhile
        change(v)
    psql(migrated_dsn, "UPDATE applications SET comments = 'while away' WHERE id = %s", app["id"])
    proxy.restore()
    events = received(page, 7)  # its reconnect's `subscribed`, then the four it missed
    change(5)
    events = received(page, 8)

    kinds = [event["kind"] for event in events]
    assert kinds == ["subscribed", "updated", "subscribed", "updated", "updated", "updated", "updated", "updated"]
    changes = [event for event in events if event["kind"] != "subscribed"]
    ids = [int(event["id"]) for event in changes]
    assert ids == sorted(set(ids)) and len(ids) == 6  # each once, in revision order
    recorded = httpx.get(f"{base}/api/v1/changes", params={"after": ids[0] - 1}).json()
    assert [c["revision"] for c in recorded if c["application_id"] == app["id"]] == ids  # none skipped
    assert [json.loads(event["data"]).get("etag") for event in changes[:4]] == [
        c["etag"] for c in recorded if c["application_id"] == app["id"]
    ][:4]

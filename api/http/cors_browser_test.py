"""A page on another origin, in a real browser (Debian's Chromium, headless): with its origin in
CORS_ALLOW_ORIGINS it can write with If-Match, read the headers the API exposes and open an event
stream; from an origin not listed, the browser refuses it all."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, Page

SCRIPT = """
async (api) => {
  const created = await fetch(api + "/api/v1/applications", {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "from-a-page"}),
  });
  const etag = created.headers.get("ETag");
  const path = created.headers.get("Location");
  const put = await fetch(api + path, {
    method: "PUT", headers: {"Content-Type": "application/json", "If-Match": etag},
    body: JSON.stringify({name: "renamed"}),
  });
  const stale = await fetch(api + path, {
    method: "DELETE", headers: {"If-Match": etag},
  });
  const subscribed = await new Promise((resolve) => {
    const stream = new EventSource(api + path + "/events");
    stream.addEventListener("subscribed", (event) => { stream.close(); resolve(JSON.parse(event.data)); });
    stream.onerror = () => { stream.close(); resolve(null); };
  });
  return {
    created: created.status, etag, path, put: put.status, renamed: (await put.json()).name,
    put_etag: put.headers.get("ETag"), request_id: put.headers.get("X-Request-ID"),
    stale: stale.status, stale_etag: stale.headers.get("ETag"), subscribed,
  };
}
"""


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>another origin</title>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def origins() -> Iterator[tuple[str, str]]:
    """Two origins other than the API's, each serving a blank page: a real local server, as Chromium
    lets only a page it fetched from a loopback address reach one (Local Network Access)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _Page) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tuple(f"http://127.0.0.1:{server.server_address[1]}" for server in servers)
    for server in servers:
        server.shutdown()
        server.server_close()


def page_on(browser: Browser, origin: str) -> Page:
    page = browser.new_context().new_page()
    page.goto(f"{origin}/page.html")
    return page


def test_a_page_of_an_allowed_origin_writes_conditionally_reads_headers_and_streams(
    migrated_dsn, launch_api, browser, origins
):
    allowed, _ = origins
    _, base, _ = launch_api(migrated_dsn, CORS_ALLOW_ORIGINS=f"{allowed}, http://third.test")

    seen = page_on(browser, allowed).evaluate(SCRIPT, base)

    assert seen["created"] == 201 and seen["etag"] and seen["path"].startswith("/api/v1/applications/")
    assert seen["put"] == 200 and seen["renamed"] == "renamed" and seen["request_id"]
    assert seen["stale"] == 412 and seen["stale_etag"] == seen["put_etag"]
    assert seen["subscribed"]["etag"] == seen["put_etag"]


def test_a_page_of_another_origin_is_refused(migrated_dsn, launch_api, browser, origins, rows):
    allowed, other = origins
    _, base, _ = launch_api(migrated_dsn, CORS_ALLOW_ORIGINS=allowed)

    refused = page_on(browser, other).evaluate(
        """async (api) => {
          try { await fetch(api + "/api/v1/applications", {method: "POST",
                  headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "x"})}); return "sent"; }
          catch (error) { return "refused"; }
        }""",
        base,
    )

    assert refused == "refused"
    assert rows("SELECT count(*) FROM applications") == [(0,)]  # the preflight stopped it before the write

"""/docs and /redoc in a real browser: Debian's Chromium, headless, driven by Playwright.

Every request that leaves the machine is blocked and recorded, as on a machine
without internet: the pages must list every operation all the same, and must
not even try to reach elsewhere. `make test` installs Chromium when it is
missing (scripts/toolchain.sh --browser); this test never skips.
"""

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Route

LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture
def docs(live_api, browser) -> Iterator[tuple[str, list[str], Page, set[str]]]:
    """The served API's base URL, the non-local requests its pages made, a page, and its operation ids."""
    base = live_api
    operations = {
        operation["operationId"]
        for path in httpx.get(f"{base}/openapi.json").json()["paths"].values()
        for operation in path.values()
    }
    context = browser.new_context()
    outside: list[str] = []

    def local_only(route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    context.route("**/*", local_only)
    yield base, outside, context.new_page(), operations
    context.close()


def test_swagger_ui_lists_every_operation_offline(docs):
    base, outside, page, operations = docs

    page.goto(f"{base}/docs")
    page.locator(".opblock").first.wait_for(timeout=20_000)

    # Swagger UI gives each operation's block the id "operations-<tag>-<operationId>".
    shown = [element.get_attribute("id") for element in page.locator(".opblock").all()]
    assert len(shown) == len(operations)
    assert all(any(key.endswith(f"-{operation}") for key in shown) for operation in operations)
    assert outside == []


def test_redoc_lists_every_operation_offline(docs):
    base, outside, page, operations = docs

    page.goto(f"{base}/redoc")
    page.locator("[id^='operation/']").first.wait_for(timeout=20_000)

    sections = page.locator("[id^='operation/']").all()
    shown = {section.get_attribute("id").removeprefix("operation/") for section in sections}
    assert shown == operations
    assert outside == []

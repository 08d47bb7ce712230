"""Watchers past the process's bound are refused with 503 and Retry-After, never reset, and the
rest of the service keeps answering: unit, then a real process under a low open-files limit."""

import asyncio
import os
import resource
import subprocess
import sys

import httpx
import pytest

from api.watch.admission import Admission, Full
from devtools.api_process import free_port, wait_until_serving
from settings import PROJECT_ROOT
from testing.scrape import scrape, value


def test_a_bound_in_all_and_per_client():
    refusals = []
    admission = Admission(total=3, per_client=2, refused=lambda: refusals.append(1))
    admission.take("a")
    admission.take("a")
    with pytest.raises(Full) as one_client_full:
        admission.take("a")
    admission.take("b")
    with pytest.raises(Full):
        admission.take("c")  # the process is full
    admission.give_back("a")
    admission.take("c")

    assert one_client_full.value.status == 503
    assert one_client_full.value.headers == {"Retry-After": "5", "Connection": "close"}
    assert admission.held == 3 and len(refusals) == 2


@pytest.mark.own_process
def test_streams_past_the_bound_under_a_low_open_files_limit_are_503_and_health_checks_answer(migrated_dsn, tmp_path):
    port = free_port()
    env = {**os.environ, "DATABASE_URL": migrated_dsn, "PORT": str(port), "LOG_LEVEL": "WARNING", "PIN_CPU": "false",
           "POOL_MIN_SIZE": "2", "POOL_MAX_SIZE": "4", "MAX_WATCHERS_PER_CLIENT": "1000"}  # fmt: skip
    # 400 descriptors: 400 - 128 reserved - 4 for the pool = 268 watchers.
    limit = 400

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    with (tmp_path / "api.log").open("w") as log:
        server = subprocess.Popen([sys.executable, "-m", "api"], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log,
                                  preexec_fn=low_limit)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(base, server, tmp_path / "api.log")
        app_id = httpx.post(f"{base}/api/v1/applications", json={"name": "watched"}).json()["id"]
        statuses, retry_after, healthy = asyncio.run(open_streams(base, app_id, 320))
        samples = scrape(base)
    finally:
        server.terminate()
        server.wait(30)

    assert statuses.count(200) == 268 and statuses.count(503) == 320 - 268
    assert retry_after == {("5", "close")}  # and closed: refused clients hold no descriptor either
    assert healthy  # every health check while they were held
    assert value(samples, "appconfig_watchers_capacity") == 268
    assert value(samples, "appconfig_watchers_refused_total") == 320 - 268
    assert "Too many open files" not in (tmp_path / "api.log").read_text()


async def open_streams(base: str, app_id: str, count: int) -> tuple[list[int], set[tuple], bool]:
    """`count` event streams held at once from one client: their statuses (an error, a reset, is
    raised), the Retry-After of the refused, and whether /healthz answered while all were held."""
    limits = httpx.Limits(max_connections=count + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        opened = []
        for _ in range(count):  # one at a time: which are refused does not depend on the order
            request = client.build_request("GET", f"/api/v1/applications/{app_id}/events")
            opened.append(await client.send(request, stream=True))
        try:
            healthy = all([(await client.get("/healthz")).status_code == 200 for _ in range(5)])
            retry_after = {
                (r.headers.get("retry-after"), r.headers.get("connection")) for r in opened if r.status_code == 503
            }
            return [r.status_code for r in opened], retry_after, healthy
        finally:
            for response in opened:
                await response.aclose()

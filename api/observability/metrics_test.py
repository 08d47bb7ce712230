"""/metrics, read as Prometheus reads it (the library's own parser): what moves after known requests."""

import asyncio
import os
import platform
import signal
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg2
import pytest
from fastapi.testclient import TestClient
from prometheus_client import generate_latest
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics_families

from api.app import create_app
from api.observability.metrics import version
from api.observability.scrape import MULTIPROCESS_DIR, workers_registry
from devtools.api_process import free_port
from testing.live_api import held, long_poll, served, sse
from testing.scrape import Samples, moved, parse, scrape, value

APPS = "/api/v1/applications"
BY_ID = "/api/v1/applications/{application_id}"


def requests(method: str, route: str, status: int) -> dict[str, str]:
    return {"method": method, "route": route, "status": str(status)}


def test_known_requests_move_the_request_and_database_metrics_by_exactly_their_number(client, problem):
    before = scrape(client)
    created = client.post(APPS, json={"name": "billing"})
    assert created.status_code == 201
    assert client.get(f"{APPS}/{created.json()['id']}").status_code == 200
    problem(client.get(f"{APPS}/01J5ZK3V8M2Q4R6T8W0Y2A4C6E"), 404, "P0002")
    problem(client.post(APPS, json={"name": "billing"}), 409, "23505")
    after = scrape(client)

    counter = "appconfig_http_requests_total"
    assert moved(before, after, counter, **requests("POST", APPS, 201)) == 1
    assert moved(before, after, counter, **requests("POST", APPS, 409)) == 1
    assert moved(before, after, counter, **requests("GET", BY_ID, 200)) == 1
    assert moved(before, after, counter, **requests("GET", BY_ID, 404)) == 1

    histogram = "appconfig_http_request_duration_seconds"
    for method, route, count in (("POST", APPS, 2), ("GET", BY_ID, 2)):
        labels = {"method": method, "route": route}
        assert moved(before, after, f"{histogram}_count", **labels) == count
        assert moved(before, after, f"{histogram}_bucket", **labels, le="+Inf") == count
        assert moved(before, after, f"{histogram}_bucket", **labels, le="10.0") == count
        assert 0 < moved(before, after, f"{histogram}_sum", **labels) < 10

    calls = "appconfig_database_call_duration_seconds"
    errors = "appconfig_database_call_errors_total"
    assert moved(before, after, f"{calls}_count", database="primary", function="app_create") == 2
    assert moved(before, after, f"{calls}_count", database="primary", function="app_get") == 2
    assert moved(before, after, errors, database="primary", function="app_create", sqlstate="23505") == 1
    assert moved(before, after, errors, database="primary", function="app_get", sqlstate="P0002") == 1
    assert moved(before, after, errors, database="primary", function="app_get", sqlstate="08006") == 0


def test_the_buckets_resolve_a_millisecond_to_ten_seconds(client):
    assert client.get("/healthz").status_code == 200
    samples = scrape(client)
    bounds = sorted(
        float(dict(labels)["le"])
        for name, labels in samples
        if name == "appconfig_http_request_duration_seconds_bucket" and dict(labels)["route"] == "/healthz"
    )
    assert bounds == [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, float("inf")]


def test_labels_are_route_templates_and_known_methods_never_what_the_client_sent(client):
    before = scrape(client)
    for _ in range(3):
        client.get(f"{APPS}/{uuid.uuid4().hex[:26].upper()}")  # 26 characters, each id different
    client.get(f"/nothing/here/{uuid.uuid4()}")
    client.request("BREW", "/healthz")
    # Starlette's own route and a mount, which name no route in the request: their templates.
    assert client.get("/openapi.json").status_code == 200
    assert client.get(f"/docs-assets/{uuid.uuid4()}.js").status_code == 404
    after = scrape(client)

    routes = {dict(labels).get("route") for name, labels in after if name == "appconfig_http_requests_total"}
    assert not any(route and "nothing" in route for route in routes)
    assert (
        sum(moved(before, after, "appconfig_http_requests_total", **requests("GET", BY_ID, s)) for s in (400, 404)) == 3
    )
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", "unmatched", 404)) == 1
    assert moved(before, after, "appconfig_http_requests_total", **requests("other", "/healthz", 405)) == 1
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", "/openapi.json", 200)) == 1
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", "/docs-assets/{path}", 404)) == 1


def test_a_body_refused_before_routing_is_counted_under_its_route(client):
    before = scrape(client)
    too_large = client.post(APPS, content=b"{" + b" " * 1_048_577 + b"}", headers={"Content-Type": "application/json"})
    after = scrape(client)

    assert too_large.status_code == 413
    assert moved(before, after, "appconfig_http_requests_total", **requests("POST", APPS, 413)) == 1


def test_metrics_are_outside_the_api_and_its_document_and_speak_openmetrics_when_asked(client):
    samples = scrape(client)
    assert value(samples, "appconfig_build_info", version=version(), python=platform.python_version()) == 1
    assert version() == client.get("/openapi.json").json()["info"]["version"]  # one source
    assert value(samples, "process_resident_memory_bytes") > 0 and value(samples, "process_open_fds") > 0
    # A counter whose labels are known from the start is there at 0 before anything happened.
    assert ("appconfig_database_pool_timeouts_total", (("database", "primary"),)) in samples
    assert value(samples, "appconfig_database_up") == 1
    assert value(samples, "appconfig_listener_connected") == 1
    assert value(samples, "appconfig_database_pool_size", database="primary") == 4

    assert client.get("/api/v1/metrics").status_code == 404
    assert "/metrics" not in client.get("/openapi.json").json()["paths"]

    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    names = {family.name for family in openmetrics_families(response.text)}
    assert {"appconfig_http_requests", "appconfig_database_up"} <= names

    # What the library cannot read gets the plain format, never a 500.
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=abc"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    response = client.get("/metrics", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip" and "appconfig_database_up" in response.text


def test_pool_in_use_waiting_and_a_timeout(settings, migrated_dsn):
    """One connection: a call held by a lock, one waiting behind it until its 503."""
    settings = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1, "pool_timeout": 2})
    locker = psycopg2.connect(migrated_dsn)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        before = scrape(client)
        with locker.cursor() as cur:
            cur.execute("LOCK TABLE applications IN ACCESS EXCLUSIVE MODE")
        answers: dict[str, int] = {}

        def send(key: str, method: str, path: str, **kwargs) -> threading.Thread:
            thread = threading.Thread(target=lambda: answers.update({key: client.request(method, path, **kwargs)}))
            thread.start()
            return thread

        def until(name: str, wanted: float) -> Samples:
            deadline = time.monotonic() + 10
            while value(samples := scrape(client), name, database="primary") != wanted:
                assert time.monotonic() < deadline, f"{name} never {wanted}"
                time.sleep(0.02)
            return samples

        holding = send("holding", "POST", APPS, json={"name": "held"})
        until("appconfig_database_pool_in_use", 1)
        waiting = send("waiting", "GET", APPS)
        during = until("appconfig_database_pool_waiting", 1)
        assert value(during, "appconfig_database_pool_in_use", database="primary") == 1
        waiting.join()
        locker.rollback()
        holding.join()
        after = scrape(client)
    locker.close()

    assert answers["waiting"].status_code == 503 and answers["holding"].status_code == 201
    assert moved(before, after, "appconfig_database_pool_timeouts_total", database="primary") == 1
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", APPS, 503)) == 1
    assert value(after, "appconfig_database_pool_waiting", database="primary") == 0
    assert value(after, "appconfig_database_pool_in_use", database="primary") == 0


def test_open_long_polls_and_streams_are_gauges_and_their_wait_is_not_a_latency(settings, migrated_dsn):
    async def scenario() -> tuple[Samples, Samples, Samples]:
        async with served(settings) as (client, app):
            application = (await client.post(APPS, json={"name": "watched"})).json()
            path = f"{APPS}/{application['id']}"
            etag = (await client.get(path)).headers["ETag"]
            before = parse((await client.get("/metrics")).text)
            poll = asyncio.create_task(long_poll(client, path, etag, wait=30))
            async with client.stream("GET", f"{path}/events") as stream:
                events = sse(stream)  # kept: a generator collected would close the stream
                assert (await anext(events))[0] == "subscribed"
                await held(app)
                during = parse((await client.get("/metrics")).text)
            assert (await client.put(path, json={"name": "renamed"})).status_code == 200
            response, _ = await poll
            assert response.status_code == 200
            async with asyncio.timeout(5):
                while app.state.watchers.streaming:  # until the server has seen the stream's client go
                    await asyncio.sleep(0.01)
            after = parse((await client.get("/metrics")).text)
            return before, during, after

    before, during, after = asyncio.run(scenario())
    assert value(during, "appconfig_long_polls_open") == 1
    assert value(during, "appconfig_event_streams_open") == 1
    assert value(after, "appconfig_long_polls_open") == 0
    assert value(after, "appconfig_event_streams_open") == 0
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", BY_ID, 200)) == 1
    events = "/api/v1/applications/{application_id}/events"
    assert moved(before, after, "appconfig_http_requests_total", **requests("GET", events, 200)) == 1
    timed = "appconfig_http_request_duration_seconds_count"
    assert moved(before, after, timed, method="GET", route=BY_ID) == 0
    assert moved(before, after, timed, method="GET", route=events) == 0


def test_metrics_port_serves_them_there_only(settings):
    port = free_port()
    settings = settings.model_copy(update={"metrics_port": port})
    with TestClient(create_app(settings)) as client:
        assert client.get("/metrics").status_code == 404
        client.get("/healthz")
        samples = scrape(f"http://127.0.0.1:{port}")
        assert value(samples, "appconfig_http_requests_total", **requests("GET", "/healthz", 200)) == 1
        assert value(samples, "appconfig_database_up") == 1
    with pytest.raises(httpx.ConnectError):  # stopped with the app
        httpx.get(f"http://127.0.0.1:{port}/metrics")


def test_metrics_off_records_and_serves_nothing(settings):
    with TestClient(create_app(settings.model_copy(update={"metrics": False}))) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 404
        assert client.app.state.metrics is None


def worker_pids(supervisor: int) -> list[int]:
    """The server's workers: the supervisor's children that run the app (not multiprocessing's
    resource tracker)."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [pid for pid in map(int, children) if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()]


def until_workers(supervisor: int, count: int) -> list[int]:
    deadline = time.monotonic() + 15
    while len(pids := worker_pids(supervisor)) != count:
        assert time.monotonic() < deadline, pids
        time.sleep(0.1)
    return pids


def test_several_workers_add_up_and_the_supervisor_serves_the_metrics_port(
    migrated_dsn, launch_api: Callable, tmp_path
):
    # A directory of the user's, holding an earlier run's counts: emptied at start, not added in.
    # (The API's own port in multiprocess mode: api/watch_test.py, which runs two workers too.)
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    port = free_port()
    process, base, _ = launch_api(migrated_dsn, WORKERS="2", POOL_MIN_SIZE="2", POOL_MAX_SIZE="3", LOG_LEVEL="WARNING",
                                  METRICS_PORT=str(port), PROMETHEUS_MULTIPROC_DIR=str(directory))  # fmt: skip
    metrics = f"http://127.0.0.1:{port}"
    workers = until_workers(process.pid, 2)
    assert not (directory / "counter_1.db").exists()
    assert httpx.get(f"{base}/metrics").status_code == 404
    healthz = requests("GET", "/healthz", 200)
    before = scrape(metrics)  # the start-up's probes have been counted
    sent = 0
    deadline = time.monotonic() + 15
    # A connection each: the kernel spreads them over both workers, once both accept.
    while sent < 40 or not all(healthz_count(directory, pid) > 0 for pid in workers):
        assert time.monotonic() < deadline, "one worker served every request"
        assert httpx.get(f"{base}/healthz").status_code == 200
        sent += 1
    for _ in range(20):
        assert httpx.get(f"{base}/api/v1/applications/01J5ZK3V8M2Q4R6T8W0Y2A4C6E").status_code == 404
    deadline = time.monotonic() + 10
    # Each worker samples its gauges every second, and listens once it has connected; it counts a
    # request once the answer is sent, so the client may hear it before the count is written.
    while (
        value(samples := scrape(metrics), "appconfig_database_pool_size", database="primary") != 6
        or value(samples, "appconfig_listener_connected") != 1
        or moved(before, samples, "appconfig_http_requests_total", **healthz) < sent
        or value(samples, "appconfig_http_requests_total", **requests("GET", BY_ID, 404)) < 20
    ):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert moved(before, samples, "appconfig_http_requests_total", **healthz) == sent
    assert value(samples, "appconfig_http_requests_total", **requests("GET", BY_ID, 404)) == 20
    errors = {"database": "primary", "function": "app_get", "sqlstate": "P0002"}
    assert value(samples, "appconfig_database_call_errors_total", **errors) == 20
    assert value(samples, "appconfig_database_up") == 1
    assert value(samples, "appconfig_build_info", version=version(), python=platform.python_version()) == 1
    # Each worker's own process figures, one series per worker.
    memory = {dict(labels)["pid"] for name, labels in samples if name == "process_resident_memory_bytes"}
    assert {str(pid) for pid in workers} <= memory
    assert all(value(samples, "process_open_fds", pid=str(pid)) > 0 for pid in workers)

    # A worker that dies is replaced; its counts stay, its live gauges go.
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 15
    while set(worker_pids(process.pid)) & {workers[0]} or len(worker_pids(process.pid)) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    probes = 0
    while True:
        probes += 1
        pools = value(scrape(metrics), "appconfig_database_pool_size", database="primary")
        if httpx.get(f"{base}/healthz").status_code == 200 and pools == 6:
            break
        assert time.monotonic() < deadline
        time.sleep(0.2)
    while moved(before, samples := scrape(metrics), "appconfig_http_requests_total", **healthz) < sent + probes:
        assert time.monotonic() < deadline  # the last probe is counted once its answer is sent
        time.sleep(0.1)
    assert moved(before, samples, "appconfig_http_requests_total", **healthz) == sent + probes


def healthz_count(directory: Path, pid: int) -> float:
    """What one worker counted of GET /healthz 200, read from its own file."""
    path = directory / f"counter_{pid}.db"
    if not path.exists():  # nothing counted yet
        return 0
    return sum(
        value
        for key, value, *_ in MmapedDict.read_all_values_from_file(str(path))
        if '"/healthz"' in key and '"200"' in key and "appconfig_http_requests_total" in key
    )


def test_a_worker_creating_its_file_at_the_scrape_does_not_fail_it(tmp_path, monkeypatch):
    """A restarted worker's file is empty until the library sizes it: the scrape skips it, not 500s."""
    monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
    counts = MmapedDict(str(tmp_path / "counter_101.db"))
    counts.write_value(mmap_key("appconfig_seen", "appconfig_seen_total", [], [], "Seen."), 3.0, 0.0)
    counts.close()
    (tmp_path / "counter_102.db").touch()  # a new worker's, between its creation and its sizing

    samples = parse(generate_latest(workers_registry()).decode())

    assert value(samples, "appconfig_seen_total") == 3

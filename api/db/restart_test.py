"""PostgreSQL restarting under load: 503s while it is down, then recovery without a process restart."""

import asyncio
import contextlib
import time
import uuid
from collections import Counter

import httpx
import psycopg2
import pytest

from api.app import create_app
from settings import Settings
from testing.clusters import own_migrated_cluster
from testing.live_api import held, long_poll, psql, served, sse
from testing.scrape import Samples, parse, value

pytestmark = pytest.mark.own_process  # starts PostgreSQL clusters of its own

APPS = "/api/v1/applications"
POOL = 4


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster of these tests' own, since they stop and start it (each leaves it running)."""
    with own_migrated_cluster() as server:
        yield server


def api_connections(dsn: str) -> int:
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'appconfig-api'")
            return cur.fetchone()[0]
    finally:
        conn.close()


async def restart_under_load(server, settings: Settings) -> dict:
    app = create_app(settings)
    log: list[tuple[float, float, int, str | None]] = []  # (sent, took, status, retry-after)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            app_id = (await client.post(APPS, json={"name": "steady"})).json()["id"]
            done = asyncio.Event()

            async def load() -> None:
                while not done.is_set():
                    sent = time.monotonic()
                    response = await client.get(f"{APPS}/{app_id}")
                    log.append(
                        (sent, time.monotonic() - sent, response.status_code, response.headers.get("retry-after"))
                    )
                    await asyncio.sleep(0.01)

            workers = [asyncio.create_task(load()) for _ in range(3)]
            await asyncio.sleep(0.3)
            await asyncio.to_thread(server.stop)
            down = time.monotonic()
            while_down = await until_scraped(client, "appconfig_listener_connected", 0, timeout=5)
            await asyncio.sleep(max(0.0, down + 1.0 - time.monotonic()))
            # The server may answer before pg_ctl returns (later still on a loaded machine): "down"
            # ends when starting begins, "up" when the start has returned.
            starting = time.monotonic()
            await asyncio.to_thread(server.start)
            up = time.monotonic()
            await asyncio.sleep(2.5)
            done.set()
            await asyncio.gather(*workers)

            # Every pooled connection died with the restart: none of them may fail a request now,
            # writes included, which are never retried.
            after = await asyncio.gather(
                *(client.post(APPS, json={"name": f"after-{uuid.uuid4().hex}"}) for _ in range(20)),
                *(client.get(f"{APPS}/{app_id}") for _ in range(20)),
            )
            connections = api_connections(server.dsn("app"))
            metrics = parse((await client.get("/metrics")).text)
    return {"log": log, "down": down, "starting": starting, "up": up, "after": after, "connections": connections,
            "while_down": while_down, "metrics": metrics}  # fmt: skip


async def until_scraped(client: httpx.AsyncClient, name: str, wanted: float, timeout: float) -> Samples:
    """Scrapes until the gauge `name` is `wanted`, for at most `timeout` seconds; the last scrape."""
    deadline = time.monotonic() + timeout
    while value(samples := parse((await client.get("/metrics")).text), name) != wanted:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return samples


def test_restart_under_load(own_cluster):
    settings = Settings(
        _env_file=None, database_url=own_cluster.dsn("app"), pool_min_size=POOL, pool_max_size=POOL, connect_timeout=1
    )

    result = asyncio.run(restart_under_load(own_cluster, settings))

    log, down, up = result["log"], result["down"], result["up"]
    assert {status for _, _, status, _ in log} <= {200, 503}, "never a 500"
    while_down = [entry for entry in log if down + 0.1 < entry[0] < result["starting"]]
    assert while_down and all(status == 503 and retry == "1" for _, _, status, retry in while_down)
    assert all(took < settings.connect_timeout + 0.5 for _, took, _, _ in while_down)
    first_success = min(sent + took for sent, took, status, _ in log if sent > up and status == 200)
    assert first_success - up < 2.0
    assert all(status == 200 for sent, _, status, _ in log if sent > up + 2.0)
    assert [r.status_code for r in result["after"]] == [201] * 20 + [200] * 20
    assert result["connections"] <= POOL

    # The metrics saw it all: the app's registry is its own, so every count starts at zero.
    down, metrics = result["while_down"], result["metrics"]
    assert value(down, "appconfig_database_up") == 0 and value(down, "appconfig_listener_connected") == 0
    assert value(metrics, "appconfig_database_up") == 1 and value(metrics, "appconfig_listener_connected") == 1
    assert value(metrics, "appconfig_listener_reconnects_total") == 1
    statuses = Counter(status for _, _, status, _ in log)
    route = "/api/v1/applications/{application_id}"
    assert value(metrics, "appconfig_http_requests_total", method="GET", route=route, status="503") == statuses[503]
    assert (
        value(metrics, "appconfig_http_requests_total", method="GET", route=route, status="200") == statuses[200] + 20
    )
    # Each 503 is one call that failed: its connection refused (08006), or ended by the shutdown (57P01).
    failed = {
        labels: count
        for (name, labels), count in metrics.items()
        if name == "appconfig_database_call_errors_total" and ("function", "app_get") in labels
    }
    refused = (("database", "primary"), ("function", "app_get"), ("sqlstate", "08006"))
    assert sum(failed.values()) == statuses[503] and refused in failed


async def writes_after_a_quiet_restart(server, settings: Settings) -> list[int]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def create() -> int:
                return (await client.post(APPS, json={"name": uuid.uuid4().hex})).status_code

            assert await asyncio.gather(*(create() for _ in range(POOL))) == [201] * POOL  # every connection used
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            return list(await asyncio.gather(*(create() for _ in range(POOL))))


def test_writes_right_after_a_restart_do_not_meet_dead_pooled_connections(own_cluster):
    settings = Settings(_env_file=None, database_url=own_cluster.dsn("app"), pool_min_size=POOL, pool_max_size=POOL)

    assert asyncio.run(writes_after_a_quiet_restart(own_cluster, settings)) == [201] * POOL


def test_watchers_get_the_right_answer_across_a_restart(own_cluster):
    """A wait that ends while the database is down is a 503, one that ends after it is back a 304
    (read again, since changes may have gone unheard), a change right after the restart reaches
    its long-poll, and a stream gets it once (caught up from the revisions, if its notification
    came before the listener was back)."""
    dsn = own_cluster.dsn("app")
    settings = Settings(_env_file=None, database_url=dsn, pool_min_size=POOL, pool_max_size=POOL, connect_timeout=1)

    async def scenario() -> dict:
        async with served(settings) as (client, app):
            ids = [(await client.post(APPS, json={"name": uuid.uuid4().hex})).json()["id"] for _ in range(3)]
            paths = [f"{APPS}/{app_id}" for app_id in ids]
            etags = [(await client.get(path)).headers["ETag"] for path in paths]
            changed = asyncio.create_task(long_poll(client, paths[0], etags[0], wait=20))
            answered_at: list[float] = []
            changed.add_done_callback(lambda _: answered_at.append(time.monotonic()))
            after_up_started = time.monotonic()
            after_up = asyncio.create_task(long_poll(client, paths[2], etags[2], wait=6))
            async with client.stream("GET", f"{paths[0]}/events") as stream:
                events = sse(stream)
                assert (await anext(events))[0] == "subscribed"
                # Held from just before the stop, for a second: it ends while the server is down.
                while_down = asyncio.create_task(long_poll(client, paths[1], etags[1], wait=1))
                await held(app, 3)
                await asyncio.to_thread(own_cluster.stop)
                await asyncio.sleep(1.5)
                await asyncio.to_thread(own_cluster.start)
                up = time.monotonic()
                await asyncio.to_thread(psql, dsn, "SELECT app_update(%s, 'renamed')", ids[0])
                async with asyncio.timeout(5):
                    kinds = []
                    while "updated" not in kinds:
                        kinds.append((await anext(events))[0])
                resynced = time.monotonic() - up
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(1):  # nothing more: not the same change twice, no resync
                        kinds.append((await anext(events))[0])
            changed_response = await changed
            answered = answered_at[0] - up
            after_up_response = await after_up
            return {
                "changed": changed_response,
                "answered": answered,
                "resynced": resynced,
                "kinds": kinds,
                "while_down": await while_down,
                "after_up": after_up_response,
                "after_up_ended": after_up_started + after_up_response[1] - up,
            }

    result = asyncio.run(scenario())

    response, _ = result["while_down"]
    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    response, took = result["after_up"]
    assert response.status_code == 304 and 6 <= took < 8
    assert result["after_up_ended"] > 0  # ended after the restart: read again, not a 304 on faith
    response, _ = result["changed"]
    assert response.status_code == 200 and response.json()["name"] == "renamed"
    assert result["resynced"] < 2 and result["answered"] < 2  # listening again within 2 s of the restart
    assert result["kinds"] == ["updated"]

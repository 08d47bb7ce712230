"""Long-polls and event streams against a served API: woken by changes made through it, through
another API process and in psql; timeouts, deletions, many waiters, bad waits.

Most run uvicorn in the test's own event loop (`served`): a real server and real sockets, and the
coverage of the code it runs. What needs a process of its own (signals, workers) gets one.
"""

import asyncio
import json
import signal
import time

import httpx
import pytest

from api.watch.streams import CATCH_UP, MAX_QUEUED_EVENTS
from testing.live_api import held, long_poll, psql, served, sse, waiting
from testing.scrape import scrape, value

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"


async def setup(client: httpx.AsyncClient, app_name: str = "billing") -> tuple[dict, dict]:
    app = (await client.post(APPS, json={"name": app_name})).json()
    configuration = await client.post(
        CONFIGS, json={"application_id": app["id"], "name": "production", "config": {"replicas": 3}}
    )
    return app, configuration.json()


def test_a_long_poll_is_answered_when_the_configuration_changes_through_the_api(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, served_app):
            _, configuration = await setup(client)
            path = f"{CONFIGS}/{configuration['id']}"
            first = await client.get(path)
            task = asyncio.create_task(long_poll(client, path, first.headers["ETag"]))
            await held(served_app)

            put = await client.put(path, json={"name": "production", "config": {"replicas": 4}})
            response, took = await task

            assert response.status_code == 200
            assert response.json()["config"] == {"replicas": 4}
            assert response.headers["ETag"] == put.headers["ETag"] != first.headers["ETag"]
            assert took < 5

    asyncio.run(scenario())


def test_a_change_made_in_psql_wakes_long_polls_by_id_and_by_name_and_reaches_the_stream(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, served_app):
            app, configuration = await setup(client, "billing/eu")
            by_id = f"{CONFIGS}/{configuration['id']}"
            by_name = f"{APPS}/by-name/billing%2Feu/configurations/production"
            etag = (await client.get(by_id)).headers["ETag"]
            polls = [asyncio.create_task(long_poll(client, path, etag)) for path in (by_id, by_name)]
            async with client.stream("GET", f"{APPS}/{app['id']}/events") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                events = sse(stream)
                kind, data = await anext(events)
                assert kind == "subscribed" and json.loads(data)["application_id"] == app["id"]
                await held(served_app, 2)

                await asyncio.to_thread(
                    psql,
                    migrated_dsn,
                    "SELECT config_update(%s, 'production', '{\"replicas\": 5}')",
                    configuration["id"],
                )

                async with asyncio.timeout(5):
                    kind, data = await anext(events)
                    # The listener may hand over the setup's own creation after the subscription:
                    # an event the subscription's ETag already holds (a consumer re-reads: no harm).
                    while kind == "created" and json.loads(data)["id"] == configuration["id"]:
                        kind, data = await anext(events)
            for response, _ in await asyncio.gather(*polls):
                assert response.status_code == 200 and response.json()["config"] == {"replicas": 5}
            change = json.loads(data)
            assert kind == "updated"
            assert change.pop("revision") > 0
            assert change == {
                "entity": "configuration",
                "action": "updated",
                "id": configuration["id"],
                "application_id": app["id"],
                "etag": response.headers["ETag"],
            }

    asyncio.run(scenario())


def test_forged_notifications_from_psql_reach_no_stream_and_end_none(settings, migrated_dsn):
    async def scenario() -> tuple[list[tuple[str, str]], str]:
        async with served(settings) as (client, _):
            app, _ = await setup(client)
            async with client.stream("GET", f"{APPS}/{app['id']}/events") as stream:
                events = sse(stream)
                assert (await anext(events))[0] == "subscribed"
                # Each names the application, so that one let through would reach this stream.
                real = {"entity": "application", "action": "updated", "id": app["id"], "application_id": app["id"]}
                tag = '"' + "0" * 32 + '"'
                for forged in (
                    json.dumps(real | {"entity": "configuration", "id": "\ud800", "etag": tag}),
                    json.dumps(real | {"etag": {"object": True}}),
                    json.dumps(real | {"etag": tag, "extra": "relayed as sent"}),
                    json.dumps(real | {"etag": tag})[:-1] + ', "n": 1e999999}',
                ):
                    await asyncio.to_thread(psql, migrated_dsn, "SELECT pg_notify('appconfig_changes', %s)", forged)
                put = await client.put(f"{APPS}/{app['id']}", json={"name": "renamed"})
                received = []
                async with asyncio.timeout(5):
                    async for kind, data in events:
                        received.append((kind, data))
                        if kind == "updated" and json.loads(data)["etag"] == put.headers["ETag"]:
                            break
                return received, put.headers["ETag"]

    received, etag = asyncio.run(scenario())
    # Only the real change (beside the setup's own creation, which may interleave with the subscription).
    updates = [json.loads(data) for kind, data in received if kind == "updated"]
    assert updates == [
        {"id": updates[0]["id"], "etag": etag, "action": "updated", "entity": "application",
         "revision": updates[0]["revision"], "application_id": updates[0]["id"]}
    ]  # fmt: skip
    assert {kind for kind, _ in received} <= {"created", "updated"}


def test_a_wait_that_ends_first_is_304_and_a_stale_etag_is_answered_at_once(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, served_app):
            app, _ = await setup(client)
            path = f"{APPS}/{app['id']}"
            etag = (await client.get(path)).headers["ETag"]

            response, took = await long_poll(client, path, etag, wait=1)
            assert (response.status_code, response.headers["ETag"], response.content) == (304, etag, b"")
            assert 1 <= took < 2

            response, took = await long_poll(client, path, '"stale"', wait=30)
            assert response.status_code == 200 and response.headers["ETag"] == etag and took < 2

            response = await client.get(path, params={"wait": 30})  # no If-None-Match: nothing to wait for
            assert response.status_code == 200

            # The same content again is no change: the poll goes on waiting.
            task = asyncio.create_task(long_poll(client, path, etag, wait=1))
            await held(served_app)
            await client.put(path, json={"name": "billing"})
            response, took = await task
            assert response.status_code == 304 and took >= 1

    asyncio.run(scenario())


def test_deleting_ends_a_long_poll_with_404_and_a_stream_with_deleted(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, served_app):
            app, configuration = await setup(client)
            config_path, app_path = f"{CONFIGS}/{configuration['id']}", f"{APPS}/{app['id']}"
            config_etag = (await client.get(config_path)).headers["ETag"]
            polls = [
                asyncio.create_task(long_poll(client, config_path, config_etag)),
                asyncio.create_task(long_poll(client, app_path, (await client.get(app_path)).headers["ETag"])),
            ]
            seen = []
            async with client.stream("GET", f"{APPS}/{app['id']}/events") as stream:
                events = sse(stream)
                assert (await anext(events))[0] == "subscribed"
                await held(served_app, 2)
                assert (await client.delete(config_path)).status_code == 204
                app_after = (await client.get(app_path)).headers["ETag"]
                # Answered before the application goes (else, read after, it would be a 404 too).
                config_poll, app_poll = [response for response, _ in await asyncio.gather(*polls)]
                assert (await client.delete(app_path)).status_code == 204
                async with asyncio.timeout(5):
                    seen = [(kind, json.loads(data)) async for kind, data in events if kind != "comment"]
            # The listener may hand over the setup's own creation after the subscription.
            seen = [(kind, change) for kind, change in seen if (kind, change["id"]) != ("created", configuration["id"])]

            assert config_poll.status_code == 404 and config_poll.json()["sqlstate"] == "P0002"
            assert app_poll.status_code == 200 and app_poll.json()["configuration_ids"] == []
            # The stream ended by itself after the application's deletion.
            assert [(kind, change["entity"]) for kind, change in seen] == [
                ("deleted", "configuration"),
                ("deleted", "application"),
            ]
            assert seen[0][1]["application_etag"] == app_after
            assert "etag" not in seen[1][1]

    asyncio.run(scenario())


def test_every_kind_of_change_reaches_the_stream_in_order(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, _):
            app = (await client.post(APPS, json={"name": "billing"})).json()
            other = (await client.post(APPS, json={"name": "other"})).json()
            async with client.stream("GET", f"{APPS}/{app['id']}/events") as stream:
                events = sse(stream)
                assert (await anext(events))[0] == "subscribed"
                body = {"application_id": app["id"], "name": "production", "config": {}}
                created = (await client.post(CONFIGS, json=body)).json()
                await client.post(CONFIGS, json=body | {"application_id": other["id"]})  # not this application's
                await client.put(f"{CONFIGS}/{created['id']}", json={"name": "production", "config": {"a": 1}})
                renamed = await client.put(f"{APPS}/{app['id']}", json={"name": "billing-eu"})
                seen = []
                async with asyncio.timeout(5):
                    while len(seen) < 3:
                        kind, data = await anext(events)
                        # (The listener may hand over the application's creation after the subscription.)
                        if kind != "comment" and (kind, json.loads(data)["entity"]) != ("created", "application"):
                            seen.append((kind, json.loads(data)))
            assert [(kind, change["entity"], change["action"]) for kind, change in seen] == [
                ("created", "configuration", "created"),
                ("updated", "configuration", "updated"),
                ("updated", "application", "updated"),
            ]
            assert seen[2][1]["etag"] == renamed.headers["ETag"]

    asyncio.run(scenario())


def test_a_stream_of_an_unknown_application_is_404(client, problem):
    problem(client.get(f"{APPS}/01ARZ3NDEKTSV4RRFFQ69G5FAV/events"), 404, "P0002")
    problem(client.get(f"{APPS}/not-an-id/events"), 400)


@pytest.mark.parametrize("wait", ["0", "-1", "301", "0.5", "abc", "nan", "inf", "", "1e9"])
def test_a_wait_outside_1_to_300_seconds_is_400(client, problem, wait):
    app = client.post(APPS, json={"name": "billing"}).json()
    for path in (f"{APPS}/{app['id']}", f"{APPS}/by-name/billing"):
        body = problem(client.get(path, params={"wait": wait}, headers={"If-None-Match": "*"}), 400)
        assert body["errors"][0]["loc"] == ["query", "wait"]


def test_waiters_hold_no_pooled_connection(settings):
    settings = settings.model_copy(update={"pool_min_size": 2, "pool_max_size": 2, "pool_timeout": 1})

    async def scenario() -> None:
        async with served(settings) as (client, served_app):
            app, configuration = await setup(client)
            path = f"{CONFIGS}/{configuration['id']}"
            etag = (await client.get(path)).headers["ETag"]
            polls = [asyncio.create_task(long_poll(client, path, etag, wait=20)) for _ in range(40)]
            await held(served_app, 40)

            # Twenty times the pool waits, and the normal traffic is served as ever.
            for _ in range(10):
                response = await client.get(f"{APPS}/{app['id']}")
                assert response.status_code == 200
            put = await client.put(path, json={"name": "production", "config": {"replicas": 9}})
            assert put.status_code == 200
            for response, _ in await asyncio.gather(*polls):
                assert response.status_code == 200 and response.headers["ETag"] == put.headers["ETag"]

    asyncio.run(scenario())


def test_sigterm_answers_every_long_poll_ends_every_stream_and_exits_promptly(migrated_dsn, launch_api):
    process, base, _ = launch_api(migrated_dsn, HEARTBEAT_SECONDS="0.2", LOG_LEVEL="WARNING")

    async def scenario() -> dict:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            app, _ = await setup(client)
            path = f"{APPS}/{app['id']}"
            etag = (await client.get(path)).headers["ETag"]
            polls = [asyncio.create_task(long_poll(client, path, etag, wait=120)) for _ in range(5)]
            async with client.stream("GET", f"{path}/events") as stream:
                events = sse(stream)
                assert (await anext(events))[0] == "subscribed"
                event = await anext(events)
                while event[0] == "created":  # the setup's own creation, handed over after the subscription
                    event = await anext(events)
                assert event == ("comment", "heartbeat")  # every 0.2 s here
                await waiting(polls[0])
                signalled = time.monotonic()
                process.terminate()
                async with asyncio.timeout(5):
                    rest = [kind async for kind, _ in events]
                stream_ended = time.monotonic() - signalled
            answers = await asyncio.gather(*polls)
            answered = time.monotonic() - signalled
        exited = await asyncio.to_thread(process.wait, 10)
        stopped = time.monotonic() - signalled
        return {"answers": answers, "answered": answered, "rest": rest, "stream_ended": stream_ended,
                "exited": exited, "stopped": stopped}  # fmt: skip

    result = asyncio.run(scenario())

    assert all(response.status_code == 304 for response, _ in result["answers"])
    assert set(result["rest"]) <= {"comment"}
    assert result["answered"] < 2 and result["stream_ended"] < 2
    # uvicorn ends its graceful shutdown by re-raising the signal; not after the 120 s of the waits.
    assert result["exited"] in (0, -signal.SIGTERM) and result["stopped"] < 5


def test_every_process_and_worker_listens_and_a_change_through_one_wakes_watchers_on_all(settings, launch_api):
    dsn = settings.database_url
    before = psql(dsn, "SELECT now()")  # other API processes listen on this database too
    _, base, _ = launch_api(dsn, WORKERS="2", POOL_MIN_SIZE="1", POOL_MAX_SIZE="2", LOG_LEVEL="WARNING")

    async def scenario() -> list[httpx.Response]:
        async with served(settings) as (here, here_app), httpx.AsyncClient(base_url=base, timeout=30) as workers:
            # Both workers take their listener before serving; wait until both (and this one) listen.
            async with asyncio.timeout(10):
                while psql(dsn, LISTENERS, before) < 3:
                    await asyncio.sleep(0.1)
            app, configuration = await setup(here)
            config_path, app_path = f"{CONFIGS}/{configuration['id']}", f"{APPS}/{app['id']}"
            config_etag = (await here.get(config_path)).headers["ETag"]
            app_etag = (await here.get(app_path)).headers["ETag"]
            # Each on its own connection, which the kernel hands to either worker.
            polls = [asyncio.create_task(long_poll(workers, config_path, config_etag)) for _ in range(12)]
            polls.append(asyncio.create_task(long_poll(here, app_path, app_etag)))
            await held(here_app)
            await waiting(polls[0], 0.5)
            # Through this process, for the workers' watchers; through a worker, for this one's.
            await here.put(config_path, json={"name": "production", "config": {"replicas": 7}})
            await workers.post(CONFIGS, json={"application_id": app["id"], "name": "staging", "config": {}})
            return [response for response, _ in await asyncio.gather(*polls)]

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses] == [200] * 13
    assert len(responses[-1].json()["configuration_ids"]) == 2  # the application, woken by the other process

    # Whichever worker answers /metrics, it answers for both (each scrape on a connection of its own);
    # each samples its gauges every second.
    deadline = time.monotonic() + 5
    while value(scrape(base), "appconfig_listener_connected") != 1:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    answered = {"method": "GET", "route": "/api/v1/configurations/{configuration_id}", "status": "200"}
    for _ in range(4):
        samples = scrape(base)
        assert value(samples, "appconfig_http_requests_total", **answered) == 12
        assert value(samples, "appconfig_database_pool_size", database="primary") == 4
        assert value(samples, "appconfig_listener_connected") == 1


LISTENERS = "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'appconfig-listener' AND backend_start > %s"


def test_a_client_that_goes_away_stops_waiting_and_a_slow_stream_catches_up(migrated_dsn, settings):
    async def scenario() -> None:
        async with served(settings) as (client, app):
            watchers = app.state.watchers
            app_id = (await client.post(APPS, json={"name": "billing"})).json()["id"]
            etag = (await client.get(f"{APPS}/{app_id}")).headers["ETag"]
            _, writer = await asyncio.open_connection("127.0.0.1", client.base_url.port)
            writer.write(f"GET {APPS}/{app_id}?wait=60 HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n".encode())
            async with asyncio.timeout(5):
                while watchers.waiting != 1:
                    await asyncio.sleep(0.02)
            writer.close()
            async with asyncio.timeout(2):  # not the 60 s of its wait
                while watchers.waiting:
                    await asyncio.sleep(0.02)

            # A stream whose client reads nothing: past the backlog, its events give way to one catch-up.
            stream = watchers.subscribe(app_id)
            for n in range(MAX_QUEUED_EVENTS + 5):
                watchers.notify(json.dumps({"revision": n + 1, "entity": "application", "action": "updated",
                                            "id": app_id, "application_id": app_id,
                                            "etag": f'"{n:032x}"'}))  # fmt: skip
            watchers.notify("not a change")  # logged and ignored
            queued = [stream.queue.get_nowait() for _ in range(stream.queue.qsize())]
            assert queued[0] is CATCH_UP and len(queued) == 5
            watchers.unsubscribe(stream)
            assert watchers.streaming == 0

    asyncio.run(scenario())

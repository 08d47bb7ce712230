"""/changes, and event streams that resume from Last-Event-ID."""

import asyncio
import json
import random
import threading
import time

import httpx
import psycopg2

from testing.live_api import held, psql, served, sse_with_ids

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"
CHANGES = "/api/v1/changes"


def test_the_feed_lists_every_change_after_a_cursor_in_order_and_links_on(client, migrated_dsn, problem):
    app = client.post(APPS, json={"name": "billing"}).json()
    config = client.post(CONFIGS, json={"application_id": app["id"], "name": "p", "config": {"a": 1}}).json()
    psql(migrated_dsn, "UPDATE configurations SET comments = 'by hand' WHERE id = %s", config["id"])
    client.delete(f"{CONFIGS}/{config['id']}")

    everything = client.get(CHANGES)
    assert everything.status_code == 200
    changes = everything.json()
    assert [(c["entity"], c["action"]) for c in changes] == [
        ("application", "created"),
        ("configuration", "created"),
        ("configuration", "updated"),
        ("configuration", "deleted"),
    ]
    revisions = [c["revision"] for c in changes]
    assert revisions == sorted(revisions) and len(set(revisions)) == 4
    assert changes[1]["etag"] == client.get(f"{CONFIGS}/{config['id']}/revisions").json()[-1]["etag"]
    assert changes[3]["application_etag"] == client.get(f"{APPS}/{app['id']}").headers["ETag"]
    assert set(changes[0]) == {"revision", "entity", "action", "id", "application_id", "etag", "at"}

    page = client.get(CHANGES, params={"after": revisions[0], "limit": 2})
    assert [c["revision"] for c in page.json()] == revisions[1:3]
    link = page.headers["Link"]
    assert link == f'<{CHANGES}?after={revisions[2]}&limit=2>; rel="next"'
    rest = client.get(link[1 : link.index(">")])
    assert [c["revision"] for c in rest.json()] == revisions[3:]
    empty = client.get(CHANGES, params={"after": revisions[3]})
    assert empty.json() == [] and f"after={revisions[3]}&" in empty.headers["Link"]

    problem(client.get(CHANGES, params={"after": revisions[3] + 1000}), 410, "PT410")  # never reached
    problem(client.get(CHANGES, params={"after": -1}), 400)
    problem(client.get(CHANGES, params={"limit": 0}), 400)

    # Pruned past the first revisions: a cursor before them is told to read again.
    psql(migrated_dsn, "UPDATE revisions SET changed_at = changed_at - interval '30 days'")
    assert (
        psql(migrated_dsn, "SELECT deleted FROM revisions_prune(1, interval '1 day')") == 2
    )  # the configuration's older two
    gone = problem(client.get(CHANGES, params={"after": revisions[0]}), 410, "PT410")
    assert str(revisions[2]) in gone["detail"]
    assert [c["revision"] for c in client.get(CHANGES, params={"after": revisions[2]}).json()] == revisions[3:]
    assert [c["revision"] for c in client.get(CHANGES).json()] == revisions[3:]  # from the oldest kept


def test_a_feed_long_poll_is_answered_by_the_next_change_from_anywhere(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, app):
            created = (await client.post(APPS, json={"name": "billing"})).json()
            [first] = (await client.get(CHANGES)).json()
            poll = asyncio.create_task(client.get(CHANGES, params={"after": first["revision"], "wait": 10}))
            await held(app)
            await asyncio.to_thread(psql, migrated_dsn, "SELECT app_update(%s, 'renamed')", created["id"])
            answer = await asyncio.wait_for(poll, 5)
            assert [c["action"] for c in answer.json()] == ["updated"]
            assert app.state.watchers.waiting == 0

            started = asyncio.get_running_loop().time()
            quiet = await client.get(CHANGES, params={"after": answer.json()[0]["revision"], "wait": 1})
            assert quiet.json() == [] and asyncio.get_running_loop().time() - started >= 0.9

            # A client that goes away gives its place back at once, not when its wait would end.
            _, writer = await asyncio.open_connection("127.0.0.1", client.base_url.port)
            after = answer.json()[0]["revision"]
            writer.write(f"GET {CHANGES}?after={after}&wait=60 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            await held(app)
            writer.close()
            async with asyncio.timeout(2):
                while app.state.watchers.waiting:
                    await asyncio.sleep(0.02)

    asyncio.run(scenario())


def test_a_stream_that_comes_back_gets_exactly_what_it_missed_then_the_live_changes(settings, migrated_dsn):
    async def scenario() -> None:
        async with served(settings) as (client, _):
            app = (await client.post(APPS, json={"name": "billing"})).json()
            events = f"{APPS}/{app['id']}/events"
            async with client.stream("GET", events) as stream:
                first_id, kind, _ = await anext(sse_with_ids(stream))
            assert kind == "subscribed" and int(first_id) > 0

            # Missed while away: made through the API and in psql; another application's is not its.
            config = (
                await client.post(CONFIGS, json={"application_id": app["id"], "name": "p", "config": {"a": 1}})
            ).json()
            await client.post(APPS, json={"name": "other"})
            await asyncio.to_thread(
                psql, migrated_dsn, "UPDATE configurations SET config = '{\"a\": 2}' WHERE id = %s", config["id"]
            )
            await client.put(f"{APPS}/{app['id']}", json={"name": "billing-eu"})

            async with client.stream("GET", events, headers={"Last-Event-ID": first_id}) as stream:
                received = sse_with_ids(stream)
                async with asyncio.timeout(5):
                    got = [await anext(received) for _ in range(4)]
                    await client.delete(f"{CONFIGS}/{config['id']}")  # live, after the replay
                    got.append(await anext(received))
            assert [kind for _, kind, _ in got] == ["subscribed", "created", "updated", "updated", "deleted"]
            assert got[0][0] is None  # a returning client's `subscribed` leaves its Last-Event-ID as it was
            ids = [int(event_id) for event_id, _, _ in got[1:]]
            assert ids == sorted(ids) and len(set(ids)) == 4 and ids[0] > int(first_id)
            assert [json.loads(data)["revision"] for _, _, data in got[1:]] == ids
            assert [json.loads(data)["entity"] for _, _, data in got[1:]] == [
                "configuration",
                "configuration",
                "application",
                "configuration",
            ]

            # A Last-Event-ID this service never sent, or one before what is kept: told to read again.
            for stale in ("bogus", "0"):
                async with client.stream("GET", events, headers={"Last-Event-ID": stale}) as stream:
                    received = sse_with_ids(stream)
                    assert [(await anext(received))[1] for _ in range(2)] == ["subscribed", "resync"]
            await asyncio.to_thread(
                psql, migrated_dsn, "UPDATE revisions SET changed_at = changed_at - interval '30 days'"
            )
            await asyncio.to_thread(psql, migrated_dsn, "SELECT revisions_prune(1, interval '1 day')")
            async with client.stream("GET", events, headers={"Last-Event-ID": first_id}) as stream:
                received = sse_with_ids(stream)
                assert [(await anext(received))[1] for _ in range(2)] == ["subscribed", "resync"]

    asyncio.run(scenario())


def test_eight_writers_and_readers_from_random_cursors_see_every_revision_once_in_order(migrated_dsn, launch_api):
    """The issue's proof, through HTTP: 8 writers, 30 updates each (half through the API, half in psql
    transactions held open a random while, so that they commit in another order than they took
    their numbers), while readers follow /changes from random cursors with small pages."""
    _, base, _ = launch_api(migrated_dsn)
    app = httpx.post(f"{base}{APPS}", json={"name": "busy"}).json()
    configs = [
        httpx.post(f"{base}{CONFIGS}", json={"application_id": app["id"], "name": f"c{n}", "config": {}}).json()["id"]
        for n in range(8)
    ]
    start = httpx.get(f"{base}{CHANGES}").json()[-1]["revision"]
    writing = threading.Event()
    writing.set()
    committed = []

    def writer(n: int) -> None:
        rng = random.Random(n)
        conn = psycopg2.connect(migrated_dsn)
        try:
            with httpx.Client(base_url=base) as client:
                for i in range(30):
                    if n % 2:
                        response = client.put(f"{CONFIGS}/{configs[n]}", json={"name": f"c{n}", "config": {"i": i}})
                        assert response.status_code == 200
                    else:
                        with conn, conn.cursor() as cur:
                            cur.execute(
                                "UPDATE configurations SET config = %s WHERE id = %s",
                                (json.dumps({"i": i}), configs[n]),
                            )
                            time.sleep(rng.uniform(0, 0.02))  # held open: others commit meanwhile
                    committed.append(n)
        finally:
            conn.close()

    def reader(seed: int, seen: list[list[int]]) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=base) as client:
            while True:
                cursor = rng.randint(start - 3, start + 200)  # some past the end for a while
                if cursor > start and client.get(CHANGES, params={"after": cursor}).status_code != 200:
                    continue  # not reached yet (410): pick again
                follow = [cursor]
                finishing = not writing.is_set()
                while True:
                    written = not writing.is_set()  # before the read: every write has committed
                    page = client.get(CHANGES, params={"after": follow[-1], "limit": rng.randint(1, 7)})
                    assert page.status_code == 200, page.text
                    revisions = [change["revision"] for change in page.json()]
                    follow += revisions
                    if not revisions and written:
                        break
                    if not revisions:
                        time.sleep(0.005)
                seen.append(follow)
                if finishing:
                    return

    runs: list[list[int]] = []
    readers = [threading.Thread(target=reader, args=(seed, runs)) for seed in range(4)]
    writers = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in readers + writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    writing.clear()
    for thread in readers:
        thread.join(60)

    assert len(committed) == 240
    since_first_cursor = httpx.get(f"{base}{CHANGES}", params={"after": start - 3, "limit": 1000}).json()
    everything = [change["revision"] for change in since_first_cursor]
    assert everything == sorted(set(everything)) and len([r for r in everything if r > start]) == 240
    assert len(runs) >= 4
    for cursor, *followed in runs:
        assert followed == [revision for revision in everything if revision > cursor], f"from {cursor}"

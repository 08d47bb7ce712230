"""/changes, and event streams that resume from Last-Event-ID."""

import asyncio
import json

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

"""Many requests at once: races decided by the database, and a pool that queues rather than fails."""

import asyncio
import time

from testing.concurrency import concurrently, hold_row_lock, statuses

APPS = "/api/v1/applications"


def test_fifty_creates_of_one_name_give_one_201_and_49_409(settings, rows):
    responses = asyncio.run(concurrently(settings, *[("POST", APPS, {"name": "contested"})] * 50))

    assert statuses(responses) == {201: 1, 409: 49}
    assert rows("SELECT count(*) FROM applications") == [(1,)]


def test_fifty_configurations_of_one_name_in_one_application_give_one_winner(settings, client, rows):
    app_id = client.post(APPS, json={"name": "owner"}).json()["id"]
    body = {"application_id": app_id, "name": "production", "config": {"n": 1}}

    responses = asyncio.run(concurrently(settings, *[("POST", "/api/v1/configurations", body)] * 50))

    assert statuses(responses) == {201: 1, 409: 49}
    assert rows("SELECT count(*) FROM configurations") == [(1,)]


def test_renaming_two_applications_to_one_name_at_once_leaves_one_winner(settings, client, rows):
    first = client.post(APPS, json={"name": "first"}).json()["id"]
    second = client.post(APPS, json={"name": "second"}).json()["id"]

    responses = asyncio.run(
        concurrently(
            settings, ("PUT", f"{APPS}/{first}", {"name": "same"}), ("PUT", f"{APPS}/{second}", {"name": "same"})
        )
    )

    assert statuses(responses) == {200: 1, 409: 1}
    winner = first if responses[0].status_code == 200 else second
    assert rows("SELECT id FROM applications WHERE name = 'same'") == [(winner,)]
    assert rows("SELECT count(*) FROM applications") == [(2,)]


def test_ten_times_the_pool_queue_and_all_succeed(settings, client, migrated_dsn):
    app_id = client.post(APPS, json={"name": "busy"}).json()["id"]
    small = settings.model_copy(update={"pool_min_size": 2, "pool_max_size": 2, "pool_timeout": 10})
    holder = hold_row_lock(migrated_dsn, app_id, 0.5)

    responses = asyncio.run(concurrently(small, *[("PUT", f"{APPS}/{app_id}", {"name": "busy"})] * 20))
    holder.join()

    assert statuses(responses) == {200: 20}


def test_no_connection_within_the_pool_timeout_is_503_with_retry_after(settings, client, migrated_dsn, problem):
    app_id = client.post(APPS, json={"name": "busy"}).json()["id"]
    small = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1, "pool_timeout": 0.2})
    holder = hold_row_lock(migrated_dsn, app_id, 1.0)

    started = time.monotonic()
    responses = asyncio.run(concurrently(small, *[("PUT", f"{APPS}/{app_id}", {"name": "busy"})] * 3))
    holder.join()

    assert statuses(responses) == {200: 1, 503: 2}
    for response in responses:
        if response.status_code == 503:
            problem(response, 503)
            assert response.headers["retry-after"] == "1"
    assert time.monotonic() - started < 5


def test_a_statement_stuck_past_the_timeout_is_503_and_the_pool_stays_healthy(settings, client, migrated_dsn, problem):
    app_id = client.post(APPS, json={"name": "stuck"}).json()["id"]
    strict = settings.model_copy(update={"statement_timeout_ms": 200, "pool_max_size": 1})
    holder = hold_row_lock(migrated_dsn, app_id, 1.0)

    [stuck] = asyncio.run(concurrently(strict, ("PUT", f"{APPS}/{app_id}", {"name": "new"})))
    holder.join()

    assert problem(stuck, 503, "57014")
    [after] = asyncio.run(concurrently(strict, ("PUT", f"{APPS}/{app_id}", {"name": "new"})))
    assert after.status_code == 200

"""Read replicas on a real streaming standby of the same PostgreSQL 16: where reads go, the lag
bound, read-your-writes with ETags, either server stopped, and the runner on a standby."""

import time
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import migrations
import migrator
from api.app import create_app
from devtools.embedded import EmbeddedPostgres
from settings import Settings
from testing.clusters import own_migrated_cluster
from testing.live_api import psql as query
from testing.scrape import moved, scrape, value

pytestmark = pytest.mark.own_process  # starts PostgreSQL clusters of its own

APPS = "/api/v1/applications"
MAX_LAG = 0.5


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[EmbeddedPostgres, EmbeddedPostgres]]:
    """A migrated primary and its streaming standby (each test leaves both running)."""
    with own_migrated_cluster() as primary:
        standby = primary.standby(primary.root.parent / f"{primary.root.name}-standby", primary.port)
        try:
            standby.start()
            yield primary, standby
        finally:
            standby.remove()


def replicated(primary: EmbeddedPostgres, standby: EmbeddedPostgres) -> None:
    """Until the standby has replayed everything the primary has written so far."""
    position = query(primary.dsn("app"), "SELECT pg_current_wal_insert_lsn()::text")
    deadline = time.monotonic() + 10
    while not query(standby.dsn("app"), "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position):
        assert time.monotonic() < deadline, "the standby does not replay"
        time.sleep(0.02)


def pause_replay(standby: EmbeddedPostgres) -> None:
    """Stop the standby's replay, as a lagging one would; until it has stopped."""
    query(standby.dsn("app"), "SELECT pg_wal_replay_pause()")
    deadline = time.monotonic() + 10
    while query(standby.dsn("app"), "SELECT pg_get_wal_replay_pause_state()") != "paused":
        assert time.monotonic() < deadline, "the standby's replay does not pause"
        time.sleep(0.02)


def fresh(client: TestClient, checked_after: float = 0.0) -> None:
    """Until the API has seen the standby caught up (in a check begun after `checked_after`), and
    will read from it for a while."""
    deadline = time.monotonic() + 10
    standbys = client.app.state.reads.standbys
    while not all(s.fresh_until > max(time.monotonic() + MAX_LAG / 2, checked_after + MAX_LAG) for s in standbys):
        assert time.monotonic() < deadline, "the API never finds the standby fresh"
        time.sleep(0.02)


@pytest.fixture
def client(servers) -> Iterator[TestClient]:
    primary, standby = servers
    settings = Settings(
        _env_file=None,
        database_url=primary.dsn("app"),
        read_database_urls=standby.dsn("app"),
        max_replica_lag=MAX_LAG,
        pool_min_size=1,
        pool_max_size=2,
        connect_timeout=1,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_reads_come_from_a_fresh_standby_and_never_from_one_past_the_lag_bound(servers, client):
    primary, standby = servers
    app = client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"}).json()
    replicated(primary, standby)
    assert query(standby.dsn("app"), "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                 "appconfig-api-read") >= 1  # fmt: skip
    # The listener stays on the primary: standbys do not deliver NOTIFY.
    assert query(standby.dsn("app"), "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                 "appconfig-listener") == 0  # fmt: skip

    fresh(client)
    pause_replay(standby)
    try:
        renamed = client.put(f"{APPS}/{app['id']}", json={"name": app["name"] + "-renamed"})
        # Within the bound the standby may answer, and it has not replayed the rename: the proof
        # that it serves the read. Past the bound it is skipped.
        before = scrape(client)
        assert client.get(f"{APPS}/{app['id']}").json()["name"] == app["name"]
        after = scrape(client)
        assert value(after, "appconfig_standby_in_use", standby="standby 1") == 1
        assert 0 <= value(after, "appconfig_standby_lag_seconds", standby="standby 1") < MAX_LAG
        calls = "appconfig_database_call_duration_seconds_count"
        assert moved(before, after, calls, database="standby 1", function="app_get") == 1
        assert value(after, "appconfig_database_pool_size", database="standby 1") == 2
        time.sleep(MAX_LAG + 0.3)
        assert client.get(f"{APPS}/{app['id']}").json()["name"] == renamed.json()["name"]
        lagging = scrape(client)
        assert value(lagging, "appconfig_standby_in_use", standby="standby 1") == 0
        assert value(lagging, "appconfig_standby_lag_seconds", standby="standby 1") > MAX_LAG
        assert [a["id"] for a in client.get(APPS, params={"name": renamed.json()["name"]}).json()] == [app["id"]]
        ready = client.get("/readyz").json()
        assert ready["status"] == "degraded" and "lags" in ready["problems"][0]
    finally:
        query(standby.dsn("app"), "SELECT pg_wal_replay_resume()")


def test_a_client_reading_after_its_write_never_gets_an_older_version(servers, client):
    primary, standby = servers
    created = client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"})
    path = created.headers["Location"]
    replicated(primary, standby)
    fresh(client)
    pause_replay(standby)
    try:
        renamed = client.put(path, json={"name": created.json()["name"] + "-renamed"})
        # The standby serves this read, and has not replayed the rename...
        assert client.get(path).json()["name"] == created.json()["name"]
        # ...but a client that sends the ETag of its write gets that version or newer: here 304.
        response = client.get(path, headers={"If-None-Match": renamed.headers["ETag"]})
        assert response.status_code == 304 and response.headers["ETag"] == renamed.headers["ETag"]
        # Nor is a resource the standby does not have yet a 404: the primary confirms it.
        newer = client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"})
        assert client.get(newer.headers["Location"]).json() == newer.json()
        assert client.get(f"{APPS}/by-name/{newer.json()['name']}").status_code == 200
    finally:
        query(standby.dsn("app"), "SELECT pg_wal_replay_resume()")


def test_with_the_primary_down_reads_answer_from_the_standby_and_writes_503(servers, client):
    primary, standby = servers
    app = client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"}).json()
    replicated(primary, standby)
    primary.stop()
    try:
        time.sleep(MAX_LAG)  # past the bound too: with the primary down, the standby is all there is
        assert client.get(f"{APPS}/{app['id']}").json() == app
        assert client.get(f"{APPS}/by-name/{app['name']}").status_code == 200
        write = client.post(APPS, json={"name": "refused"})
        assert write.status_code == 503 and write.headers["Retry-After"] == "1"
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert "primary" in ready.json()["problems"][0]
    finally:
        primary.start()


def test_with_the_standby_down_everything_works_on_the_primary(servers, client):
    _, standby = servers
    standby.stop()
    try:
        created = client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"})
        assert created.status_code == 201
        assert client.get(created.headers["Location"]).json() == created.json()
        assert client.get(APPS, params={"limit": 1}).status_code == 200
        deadline = time.monotonic() + 5
        while "cannot be reached" not in str(ready := client.get("/readyz").json()):
            assert time.monotonic() < deadline, ready
            time.sleep(0.05)
        assert ready["status"] == "degraded"
    finally:
        standby.start()


def test_the_runner_refuses_to_migrate_a_standby_and_verifies_it_read_only(servers, monkeypatch, capsys):
    _, standby = servers
    monkeypatch.setenv("DATABASE_URL", standby.dsn("app"))

    assert migrations.main(["up"]) == migrator.Exit.FAILED
    assert "standby" in capsys.readouterr().err
    assert migrations.main(["verify"]) == migrator.Exit.OK


def test_the_standby_is_a_streaming_replica_of_the_primary(servers):
    primary, standby = servers
    assert query(standby.dsn("app"), "SELECT pg_is_in_recovery()") is True
    assert query(primary.dsn("app"), "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'") == 1


def test_an_idle_primary_after_a_wal_switch_leaves_the_standby_fresh(servers, client):
    # After a switch to a new WAL segment with nothing written since, the primary's insert position
    # is past the new page's header, which the standby never replays: it must still count as fresh.
    primary, _ = servers
    client.post(APPS, json={"name": f"billing-{uuid.uuid4()}"})
    query(primary.dsn("app"), "SELECT pg_switch_wal()")
    switched = time.monotonic()
    assert int(query(primary.dsn("app"), "SELECT mod(pg_current_wal_insert_lsn() - '0/0', 8192)")) in (24, 40)
    fresh(client, checked_after=switched)  # and nothing written meanwhile
    assert client.get("/readyz").json() == {"status": "ready"}

"""Revalidating a configuration (If-None-Match, by id and by names, and long-polls): a 304 for a row
that is still the version read before costs no document, and any change, even one made in psql with
the triggers off (no revision, no notification), is a 200 with the new document; versions read
before the pool connected anew, or before a migration, are not trusted."""

import time
from collections.abc import Callable

import httpx
import psycopg2
import pytest
from psycopg2.extras import Json

import migrator
from api.db.pool import Database

APPS = "/api/v1/applications"
CONFIGS = "/api/v1/configurations"
# About 20 KB of JSON: a document worth not sending again.
LARGE = {"servers": [{"host": f"host-{n:03}.internal", "port": 8000 + n, "weight": n % 7} for n in range(400)]}


class Spy:
    """What the primary pool's reads of config_get_if_modified / config_get_by_name_if_modified
    passed and got: (version given, document text or None, version returned), in order; and, once,
    `after_plain_read()` run after the next plain read of one configuration (a long-poll's first)."""

    def __init__(self, database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
        self.database = database
        self.calls: list[tuple[int | None, str | None, int | None]] = []
        self.after_plain_read: Callable[[], None] | None = None
        fetch_row, fetch_value = database.fetch_row, database.fetch_value

        async def spied_row(statement, params=(), **kwargs):
            row = await fetch_row(statement, params, **kwargs)
            if "_if_modified(" in statement:
                self.calls.append((params[-1], row[0], row[1]))
            return row

        async def spied_value(statement, params=(), **kwargs):
            value = await fetch_value(statement, params, **kwargs)
            if statement.startswith("SELECT config_get") and self.after_plain_read is not None:
                then, self.after_plain_read = self.after_plain_read, None
                then()
            return value

        monkeypatch.setattr(database, "fetch_row", spied_row)
        monkeypatch.setattr(database, "fetch_value", spied_value)


@pytest.fixture
def spy(client, monkeypatch) -> Spy:
    return Spy(client.app.state.reads.primary, monkeypatch)


@pytest.fixture
def configuration(client) -> dict:
    app = client.post(APPS, json={"name": "billing"}).json()
    created = client.post(CONFIGS, json={"application_id": app["id"], "name": "production", "config": LARGE})
    assert created.status_code == 201
    return created.json()


def by_id(configuration: dict) -> str:
    return f"{CONFIGS}/{configuration['id']}"


def by_name(configuration: dict) -> str:
    return f"{APPS}/by-name/billing/configurations/{configuration['name']}"


PATHS = [pytest.param(by_id, id="by_id"), pytest.param(by_name, id="by_name")]


def update_unheard(dsn: str, configuration_id: str, config: dict) -> None:
    """An UPDATE in psql by the owner with the triggers off: no revision, no notification."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("UPDATE configurations SET config = %s WHERE id = %s", (Json(config), configuration_id))
            assert cur.rowcount == 1
    finally:
        conn.close()


def revalidated(client, path: str, etag: str, **params) -> tuple[int, str, bytes]:
    response = client.get(path, params=params, headers={"If-None-Match": etag})
    return response.status_code, response.headers["ETag"], response.content


def remembered(client, spy: Spy, path: str) -> tuple[str, int]:
    """A GET (200), then a revalidation that reads the whole document once (304) and so learns its
    version: the ETag and that version."""
    first = client.get(path)
    assert first.status_code == 200 and len(first.content) > 20_000
    etag = first.headers["ETag"]
    assert revalidated(client, path, etag) == (304, etag, b"")
    given, text, version = spy.calls[-1]
    assert given is None and text is not None and isinstance(version, int)
    return etag, version


@pytest.mark.parametrize("path_of", PATHS)
def test_a_second_304_reads_no_document_and_a_change_with_triggers_off_is_a_200(
    client, spy, rows, migrated_dsn, configuration, path_of
):
    path = path_of(configuration)
    first = client.get(path)
    assert first.status_code == 200 and first.json() == configuration
    etag = first.headers["ETag"]

    assert revalidated(client, path, etag) == (304, etag, b"")
    assert revalidated(client, path, etag) == (304, etag, b"")

    [(given, text, version), second] = spy.calls
    assert given is None and text == first.text and isinstance(version, int)  # the first read it all
    assert second == (version, None, version)  # the second: "unchanged", no document

    changed = LARGE | {"replicas": 4}
    update_unheard(migrated_dsn, configuration["id"], changed)
    assert rows("SELECT count(*) FROM revisions WHERE id = %s", (configuration["id"],)) == [(1,)]  # its creation

    response = client.get(path, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.json() == configuration | {"config": changed}
    assert response.headers["ETag"] != etag
    given, text, new_version = spy.calls[-1]
    assert given == version and text == response.text and new_version not in (None, version)
    # The new version is remembered in turn.
    assert revalidated(client, path, response.headers["ETag"]) == (304, response.headers["ETag"], b"")
    assert spy.calls[-1] == (new_version, None, new_version)


def test_an_if_none_match_naming_another_document_reads_it_in_full(client, spy, configuration):
    path = by_id(configuration)
    etag, version = remembered(client, spy, path)

    stale = '"' + "0" * 32 + '"'
    response = client.get(path, headers={"If-None-Match": stale})

    assert response.status_code == 200 and response.json() == configuration and response.headers["ETag"] == etag
    assert spy.calls[-1] == (None, response.text, version)


@pytest.mark.parametrize("path_of", PATHS)
def test_a_long_poll_on_a_change_made_with_triggers_off_is_a_200_when_its_wait_ends(
    client, spy, migrated_dsn, configuration, path_of
):
    path = path_of(configuration)
    etag, version = remembered(client, spy, path)
    changed = LARGE | {"replicas": 5}
    # Made once the long-poll has read the configuration and found it current: it waits, unwoken.
    spy.after_plain_read = lambda: update_unheard(migrated_dsn, configuration["id"], changed)

    response = client.get(path, params={"wait": 2}, headers={"If-None-Match": etag})

    assert spy.after_plain_read is None  # the change came while it waited
    assert response.status_code == 200 and response.json() == configuration | {"config": changed}
    assert response.headers["ETag"] != etag
    given, text, _ = spy.calls[-1]  # the read at the end of the wait, given the version known
    assert given == version and text == response.text


@pytest.mark.parametrize("path_of", PATHS)
def test_a_long_poll_on_an_unchanged_configuration_is_a_304_when_its_wait_ends(client, spy, configuration, path_of):
    path = path_of(configuration)
    etag, version = remembered(client, spy, path)
    reads = len(spy.calls)

    assert revalidated(client, path, etag, wait=2) == (304, etag, b"")

    assert spy.calls[reads:] == [(version, None, version)]  # asked at the end of the wait, without the document


def in_psql(dsn: str, statement: str, params: tuple = ()) -> tuple:
    """`statement` run on a connection of its own, committed: its one row."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()
    finally:
        conn.close()


def terminate(dsn: str, application_name: str) -> int:
    """Ends the sessions of this database that `application_name` opened; how many."""
    [ended] = in_psql(
        dsn,
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = %s AND pid <> pg_backend_pid()",
        (application_name,),
    )
    return ended


def terminate_the_pools_connections(migrated_dsn: str) -> int:
    return terminate(migrated_dsn, "appconfig-api")


def bump(spy: Spy, client, migrated_dsn: str, configuration: dict) -> None:
    spy.database.connections_opened += 1


def reconnect(spy: Spy, client, migrated_dsn: str, configuration: dict) -> None:
    opened = spy.database.connections_opened
    assert terminate_the_pools_connections(migrated_dsn) >= 1
    assert client.get(f"{APPS}/{configuration['application_id']}").status_code == 200  # on a new connection
    assert spy.database.connections_opened > opened


def _forgotten_after(client, act: Callable[[], None]) -> None:
    """`act`, then wait until the listener has made this process forget its versions, and listens."""
    versions = client.app.state.store.versions
    before = versions.forgotten
    act()
    deadline = time.monotonic() + 10
    while versions.forgotten == before or versions.paused:
        assert time.monotonic() < deadline, "the listener never made the versions forgotten"
        time.sleep(0.02)


def migrated(spy: Spy, client, migrated_dsn: str, configuration: dict) -> None:
    """What `migrations.py up` sends with each migration and deploy: the documents may have changed shape."""
    _forgotten_after(
        client, lambda: in_psql(migrated_dsn, "SELECT pg_notify(%s, '0099_example.sql')", (migrator.SCHEMA_CHANNEL,))
    )


def listener_reconnected(spy: Spy, client, migrated_dsn: str, configuration: dict) -> None:
    """While the listener was away, a migration may have gone unheard."""
    _forgotten_after(client, lambda: terminate(migrated_dsn, "appconfig-listener"))


@pytest.mark.parametrize("path_of", PATHS)
@pytest.mark.parametrize(
    "connect",
    [bump, reconnect, migrated, listener_reconnected],
    ids=["connections_opened", "pg_terminate_backend", "migrated", "listener_reconnected"],
)
def test_after_the_pool_connects_anew_or_a_migration_the_next_revalidation_reads_in_full_and_is_still_a_304(
    client, spy, migrated_dsn, configuration, path_of, connect
):
    path = path_of(configuration)
    etag, version = remembered(client, spy, path)

    connect(spy, client, migrated_dsn, configuration)

    assert revalidated(client, path, etag) == (304, etag, b"")
    given, text, again = spy.calls[-1]
    assert given is None and len(text) > 20_000 and again == version  # the same row, read whole
    assert revalidated(client, path, etag) == (304, etag, b"")
    assert spy.calls[-1] == (version, None, version)  # known again, in the new epoch


def test_the_revalidation_that_opens_the_new_connection_does_not_trust_the_old_version(
    client, spy, migrated_dsn, configuration
):
    path = by_id(configuration)
    etag, _ = remembered(client, spy, path)
    opened = spy.database.connections_opened
    assert terminate_the_pools_connections(migrated_dsn) >= 1

    assert revalidated(client, path, etag) == (304, etag, b"")

    assert spy.database.connections_opened > opened  # this read connected anew (after a failover: to another server)
    given, text, _ = spy.calls[-1]
    assert given is None and text is not None  # fails: it passed the version read before, and got "unchanged"


def test_a_migration_that_changes_the_document_makes_the_next_revalidation_a_200(fresh_dsn, launch_api, layout):
    _, base, _ = launch_api(fresh_dsn)
    app = httpx.post(f"{base}{APPS}", json={"name": "billing"}).json()
    created = httpx.post(
        f"{base}{CONFIGS}",
        json={"application_id": app["id"], "name": "production", "comments": "reviewed", "config": LARGE},
    )
    path = f"{base}{CONFIGS}/{created.json()['id']}"
    etag = httpx.get(path).headers["ETag"]
    for _ in range(2):  # the first learns the row's version, the second is answered from it
        assert httpx.get(path, headers={"If-None-Match": etag}).status_code == 304

    config_get = layout.functions_dir / "config_get.sql"
    config_get.write_text(config_get.read_text().replace("'comments', c.comments", "'comments', upper(c.comments)"))
    migrator.migrate(fresh_dsn, layout)

    deadline = time.monotonic() + 10
    while (response := httpx.get(path, headers={"If-None-Match": etag})).status_code == 304:
        assert time.monotonic() < deadline, "the row's version still vouches for the document before the migration"
        time.sleep(0.05)
    assert response.status_code == 200 and response.json()["comments"] == "REVIEWED"
    assert response.headers["ETag"] != etag

"""change_list, revision_latest and revisions_prune: the change feed, and what pruning leaves of it.

Each test has a database of its own (fresh_dsn), whose revisions are numbered from 1 and whose sequence
was never called: the tests name revisions by their numbers."""

from collections.abc import Iterator

import psycopg2
import psycopg2.extensions
import pytest
from psycopg2.extras import Json
from ulid import ULID

from api.etags import etag


@pytest.fixture
def db(fresh_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """Overrides conftest's: an autocommit connection to a new migrated database, no revision in it."""
    conn = psycopg2.connect(fresh_dsn)
    conn.autocommit = True
    yield conn
    conn.close()


def feed(call, *args) -> list[dict]:
    """change_list(...)'s page (call() answers a *_list function with a list of its rows: here, one)."""
    [page] = call("change_list", *args)
    return page


def text_of(rows, function: str, resource_id: str) -> str:
    return rows(f"SELECT {function}(%s)::text", (resource_id,))[0][0]


def prune(rows, keep: int, max_age: str = "7 days", batch: int = 10000) -> tuple[int, int]:
    [result] = rows("SELECT scanned, deleted FROM revisions_prune(%s, %s, %s)", (keep, max_age, batch))
    return result


def age(rows, through: int) -> None:
    """Makes revisions up to `through` 30 days old."""
    rows(
        "UPDATE revisions SET changed_at = changed_at - interval '30 days' WHERE revision <= %s RETURNING 1", (through,)
    )


def kept(rows) -> list[int]:
    return [revision for (revision,) in rows("SELECT revision FROM revisions ORDER BY revision")]


def pruned_through(rows) -> int:
    return rows("SELECT pruned_through FROM app_private.revision_retention")[0][0]


def test_a_fresh_database_has_no_revision_and_no_cursor_beyond_it(call, sqlstate):
    assert call("revision_latest") == 0
    assert feed(call) == []
    assert feed(call, 0) == []
    assert sqlstate("change_list", 1) == "PT410"  # never reached here: a cursor from another database


def test_the_feed_lists_every_change_in_revision_order_with_what_changed(call, rows):
    app = call("app_create", "billing")
    app_tag = etag(text_of(rows, "app_get", app["id"]))
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    config_tag = etag(text_of(rows, "config_get", configuration["id"]))
    app_tag_then = etag(text_of(rows, "app_get", app["id"]))
    call("config_delete", configuration["id"])
    app_tag_after = etag(text_of(rows, "app_get", app["id"]))

    page = feed(call)

    for entry in page:
        assert entry.pop("at").endswith("Z")
    assert page == [
        {"revision": 1, "entity": "application", "action": "created", "id": app["id"], "application_id": app["id"],
         "etag": app_tag},
        {"revision": 2, "entity": "configuration", "action": "created", "id": configuration["id"],
         "application_id": app["id"], "etag": config_tag, "application_etag": app_tag_then},
        {"revision": 3, "entity": "configuration", "action": "deleted", "id": configuration["id"],
         "application_id": app["id"], "application_etag": app_tag_after},
    ]  # fmt: skip
    assert call("revision_latest") == 3
    assert feed(call, None, None, app["id"].lower()) == feed(call)


def test_a_cursor_and_a_limit_page_through_the_feed(call):
    app = call("app_create", "billing")
    for n in range(6):
        call("app_update", app["id"], f"billing-{n}")
    everything = [entry["revision"] for entry in feed(call)]

    pages, cursor = [], 0
    while page := feed(call, cursor, 3):
        pages.append([entry["revision"] for entry in page])
        cursor = page[-1]["revision"]

    assert everything == list(range(1, 8))
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]
    assert [entry["revision"] for entry in feed(call, 5)] == [6, 7]
    assert feed(call, 7) == []  # the latest: nothing after it yet, and no error


def test_the_feed_of_one_application_has_it_and_its_configurations_only(call):
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    mine = call("config_create", app["id"], "production", Json({}))
    call("config_create", other["id"], "production", Json({}))
    call("app_update", other["id"], "payroll-eu")
    call("config_update", mine["id"], "production", Json({"a": 1}))

    page = feed(call, None, None, app["id"])

    assert [(e["revision"], e["id"]) for e in page] == [(1, app["id"]), (3, mine["id"]), (6, mine["id"])]
    assert [e["revision"] for e in feed(call, 1, 1, app["id"])] == [3]
    assert feed(call, None, None, str(ULID())) == []


def test_bad_arguments(call, sqlstate):
    call("app_create", "billing")

    assert sqlstate("change_list", None, 0) == "22023"
    assert sqlstate("change_list", None, None, "nope") == "22P02"
    assert sqlstate("change_list", 2) == "PT410"  # beyond the latest
    assert sqlstate("change_list", 10**12) == "PT410"
    assert feed(call, 1) == []


def test_the_latest_revision_is_the_newest_committed(call, rows, db):
    app = call("app_create", "billing")
    call("app_update", app["id"], "renamed")
    assert call("revision_latest") == 2
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute("SELECT app_update(%s, 'uncommitted')", (app["id"],))
    db.rollback()
    db.autocommit = True
    call("app_delete", app["id"])

    assert call("revision_latest") == 3 == max(kept(rows))


def make_revisions(call, resources: int, each: int) -> list[str]:
    """`resources` applications, each created then updated until it has `each` revisions: revisions
    1..resources*each, resource by resource."""
    ids = []
    for n in range(resources):
        app = call("app_create", f"app-{n}")
        for k in range(1, each):
            call("app_update", app["id"], f"app-{n}", f"edit {k}")
        ids.append(app["id"])
    return ids


def test_pruning_keeps_the_newest_of_each_resource(call, rows):
    a, b = make_revisions(call, 2, 4)  # a: 1-4, b: 5-8
    call("app_update", a, "app-0", "young")  # 9
    age(rows, 8)

    assert prune(rows, keep=2) == (8, 5)  # a's newest are 9 and 4, b's 8 and 7
    assert kept(rows) == [4, 7, 8, 9]
    assert [r["revision"] for r in call("app_revisions", a)] == [9, 4]
    assert [r["revision"] for r in call("app_revisions", b)] == [8, 7]
    assert pruned_through(rows) == 6


def test_pruning_keeps_everything_younger_than_the_max_age(call, rows):
    make_revisions(call, 1, 5)

    assert prune(rows, keep=1) == (0, 0)
    age(rows, 3)
    assert prune(rows, keep=1) == (3, 3)
    assert kept(rows) == [4, 5]  # 4 is not among the newest 1, but young
    assert prune(rows, keep=1, max_age="0 seconds") == (2, 1)  # now all are of age
    assert kept(rows) == [5]


def test_pruning_moves_the_feeds_oldest_cursor(call, rows, sqlstate):
    make_revisions(call, 2, 3)  # 1-3, 4-6
    age(rows, 6)

    assert prune(rows, keep=1) == (6, 4)
    assert kept(rows) == [3, 6] and pruned_through(rows) == 5

    assert sqlstate("change_list", 4) == "PT410"
    assert sqlstate("change_list", 0) == "PT410"
    assert [e["revision"] for e in feed(call, 5)] == [6]
    assert [e["revision"] for e in feed(call)] == [6]  # from the oldest complete cursor
    assert feed(call, 6) == []
    assert call("revision_latest") == 6


def test_a_second_run_with_nothing_new_scans_nothing_and_a_later_one_starts_where_it_stopped(call, rows):
    [a] = make_revisions(call, 1, 4)  # 1-4
    age(rows, 4)
    assert prune(rows, keep=2) == (4, 2)
    assert prune(rows, keep=2) == (0, 0)

    for k in range(3):
        call("app_update", a, "app-0", f"later {k}")  # 5-7
    age(rows, 7)
    assert prune(rows, keep=2) == (3, 3)  # 5, 6 and 7 are looked at, not 1 to 4 again: 3, 4, 5 go
    assert kept(rows) == [6, 7] and pruned_through(rows) == 5


def test_a_kept_revision_goes_once_a_newer_one_of_its_resource_comes_of_age(call, rows):
    [a, b] = make_revisions(call, 2, 2)  # a: 1-2, b: 3-4
    age(rows, 4)
    assert prune(rows, keep=2) == (4, 0)

    call("app_update", b, "app-1", "again")  # 5
    call("app_update", a, "app-0", "again")  # 6
    assert prune(rows, keep=2) == (0, 0)  # young
    age(rows, 5)
    assert prune(rows, keep=2) == (1, 1)  # 5 is of age: b's 3 goes; a's 6 is not, so 1 stays
    assert kept(rows) == [1, 2, 4, 5, 6]
    age(rows, 6)
    assert prune(rows, keep=2) == (1, 1)
    assert kept(rows) == [2, 4, 5, 6] and pruned_through(rows) == 3


def test_the_batch_bounds_the_work_of_one_run(call, rows):
    make_revisions(call, 1, 10)
    age(rows, 10)

    assert [prune(rows, keep=1, batch=4) for _ in range(4)] == [(4, 4), (4, 4), (2, 1), (0, 0)]
    assert kept(rows) == [10] and pruned_through(rows) == 9


def test_deleted_resources_are_pruned_down_to_their_newest_too(call, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    call("config_update", configuration["id"], "production", Json({"a": 1}))
    call("config_delete", configuration["id"])
    age(rows, 4)

    assert prune(rows, keep=1) == (4, 2)
    assert [r["action"] for r in call("config_revisions", configuration["id"])] == ["deleted"]
    assert [r["action"] for r in call("app_revisions", app["id"])] == ["created"]


def test_bad_prune_arguments_are_22023(call, sqlstate):
    assert sqlstate("revisions_prune", 0) == "22023"
    assert sqlstate("revisions_prune", 1, "-1 day") == "22023"
    assert sqlstate("revisions_prune", 1, "1 day", 0) == "22023"


def test_one_pruner_at_a_time(call, rows, fresh_dsn):
    make_revisions(call, 1, 3)
    age(rows, 3)
    other = psycopg2.connect(fresh_dsn)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT * FROM revisions_prune(1)")
            assert cur.fetchone() == (3, 2)  # in a transaction still open
            assert prune(rows, keep=1) == (0, 0)  # this one gives way at once
        other.commit()
    finally:
        other.close()
    assert kept(rows) == [3]

import threading

import psycopg2
from ulid import ULID


def test_creates_with_a_generated_id_when_called_by_hand(call, rows):
    created = call("app_create", "billing", "owned by team X")

    assert created == {
        "id": created["id"],
        "name": "billing",
        "comments": "owned by team X",
        "configuration_ids": [],
    }
    assert str(ULID.from_str(created["id"])) == created["id"]
    assert rows("SELECT id, name, comments FROM applications") == [(created["id"], "billing", "owned by team X")]


def test_takes_a_given_id_in_any_case(call):
    given = str(ULID())

    assert call("app_create", "billing", None, given.lower())["id"] == given


def test_duplicate_name_is_23505_and_stores_nothing(call, sqlstate, rows):
    call("app_create", "billing")

    assert sqlstate("app_create", "billing", "again") == "23505"
    assert rows("SELECT count(*) FROM applications") == [(1,)]


def test_duplicate_id_is_23505(call, sqlstate):
    given = str(ULID())
    call("app_create", "one", None, given)

    assert sqlstate("app_create", "two", None, given) == "23505"


def test_bad_fields_are_data_exceptions(sqlstate, rows):
    assert sqlstate("app_create", None) == "22004"
    assert sqlstate("app_create", "") == "22023"
    assert sqlstate("app_create", "x" * 257) == "22001"
    assert sqlstate("app_create", "ok", "x" * 1025) == "22001"
    assert sqlstate("app_create", "ok", None, "not-a-ulid") == "22P02"
    assert rows("SELECT count(*) FROM applications") == [(0,)]


def test_concurrent_creates_of_one_name_have_exactly_one_winner(migrated_dsn, rows):
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def create() -> None:
        conn = psycopg2.connect(migrated_dsn)
        conn.autocommit = True
        try:
            barrier.wait()
            with conn.cursor() as cur:
                cur.execute("SELECT app_create('contested')")
            outcomes.append("created")
        except psycopg2.Error as exc:
            outcomes.append(exc.pgcode)
        finally:
            conn.close()

    threads = [threading.Thread(target=create) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["23505"] * 7 + ["created"]
    assert rows("SELECT count(*) FROM applications") == [(1,)]

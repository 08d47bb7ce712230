import asyncio
import time

import psycopg2
import psycopg2.errors
import pytest

from api.db import pool as database_module
from api.db.errors import PoolTimeout
from api.db.pool import Database


@pytest.fixture
def database(migrated_dsn):
    opened: list[Database] = []

    def make(max_size: int = 2, timeout: float = 5.0) -> Database:
        db = Database(migrated_dsn, 1, max_size, timeout)
        db.open()
        opened.append(db)
        return db

    yield make
    for db in opened:
        db.close()


def test_json_results_come_back_as_the_text_the_function_built(database):
    db = database()

    value = asyncio.run(db.fetch_value("SELECT app_create('billing')"))

    assert isinstance(value, str)
    assert value.startswith('{"id": "')


def test_calls_run_in_autocommit(database, rows):
    db = database()

    asyncio.run(db.fetch_value("SELECT app_create('billing')"))

    assert rows("SELECT name FROM applications") == [("billing",)]  # visible to another session at once
    assert asyncio.run(db.fetch_value("SELECT current_setting('transaction_isolation')")) == "read committed"


def test_calls_share_their_connection_s_cursor_unless_it_holds_a_large_result(database):
    db = database(max_size=1)
    [conn] = db._pool._pool  # the pool's one connection, idle

    asyncio.run(db.fetch_value("SELECT 1"))
    shared = conn._shared
    assert asyncio.run(db.fetch_value("SELECT 2")) == 2
    assert conn._shared is shared and not shared.closed

    assert len(asyncio.run(db.fetch_value("SELECT repeat('x', 100000)"))) == 100_000
    assert shared.closed and conn._shared is None  # the large text does not stay behind
    assert asyncio.run(db.fetch_values("SELECT generate_series(1, 3)")) == [1, 2, 3]
    assert conn._shared is None  # nor a page of rows

    asyncio.run(db.fetch_value("SELECT 3"))
    assert conn._shared is not None
    with pytest.raises(psycopg2.errors.DivisionByZero):
        asyncio.run(db.fetch_value("SELECT %s::text, 1 / 0", ("x" * 100_000,)))
    assert conn._shared is None  # nor the long statement of a call that failed


def test_a_burst_beyond_the_pool_queues_and_succeeds(database):
    db = database(max_size=2)

    async def burst() -> list[int]:
        return await asyncio.gather(*(db.fetch_value("SELECT %s FROM pg_sleep(0.05)", (n,)) for n in range(20)))

    assert asyncio.run(burst()) == list(range(20))


def test_waiting_longer_than_the_timeout_is_pool_timeout(database):
    db = database(max_size=1, timeout=0.2)

    async def contend() -> list:
        slow = db.fetch_value("SELECT pg_sleep(1)")
        fast = db.fetch_value("SELECT 1")
        return await asyncio.gather(slow, fast, return_exceptions=True)

    started = time.monotonic()
    slow, fast = asyncio.run(contend())

    assert slow == ""  # pg_sleep returns void, which psycopg2 reads as an empty string
    assert isinstance(fast, PoolTimeout)
    assert time.monotonic() - started < 5


def test_a_connection_the_server_closed_is_replaced_before_use(database, rows):
    db = database(max_size=1)
    pid = asyncio.run(db.fetch_value("SELECT pg_backend_pid()"))
    rows("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.1)  # the server's goodbye reaches the idle socket

    assert asyncio.run(db.fetch_value("SELECT pg_backend_pid()")) != pid


def test_a_read_that_meets_a_broken_connection_is_retried_once_and_a_write_is_not(database, rows, monkeypatch):
    db = database(max_size=1)
    monkeypatch.setattr(database_module, "_usable", lambda conn: not conn.closed)  # as if the check missed it

    def break_the_pooled_connection() -> None:
        pid = asyncio.run(db.fetch_value("SELECT pg_backend_pid()"))
        rows("SELECT pg_terminate_backend(%s)", (pid,))
        time.sleep(0.1)

    break_the_pooled_connection()
    assert asyncio.run(db.fetch_value("SELECT 1", idempotent=True)) == 1

    break_the_pooled_connection()
    with pytest.raises(psycopg2.OperationalError):
        asyncio.run(db.fetch_value("SELECT app_create('maybe')"))
    assert asyncio.run(db.fetch_value("SELECT 2")) == 2  # and the pool recovers


def test_statement_timeout_cancels_a_stuck_call_and_the_connection_stays_usable(migrated_dsn):
    db = Database(migrated_dsn, 1, 1, 5.0, statement_timeout_ms=100)
    db.open()
    try:
        with pytest.raises(psycopg2.errors.QueryCanceled):
            asyncio.run(db.fetch_value("SELECT pg_sleep(2)"))
        assert asyncio.run(db.fetch_value("SELECT current_setting('statement_timeout')")) == "100ms"
    finally:
        db.close()


def test_an_unreachable_database_at_start_up_is_connected_on_demand(tmp_path):
    db = Database(f"host={tmp_path} port=1 dbname=none connect_timeout=1", 2, 2, 1.0)
    db.open()
    try:
        with pytest.raises(psycopg2.OperationalError):
            asyncio.run(db.fetch_value("SELECT 1"))
    finally:
        db.close()


def test_a_connection_back_in_the_pool_a_moment_ago_is_taken_unchecked(database, monkeypatch):
    db = database(max_size=1)
    checked = []
    monkeypatch.setattr(database_module, "_usable", lambda conn: checked.append(conn) or not conn.closed)

    asyncio.run(db.fetch_value("SELECT 1"))  # a new connection, never returned: checked
    asyncio.run(db.fetch_value("SELECT 1"))  # back a moment ago: not
    assert len(checked) == 1
    time.sleep(database_module.RECENT_SECONDS * 2)
    asyncio.run(db.fetch_value("SELECT 1"))  # back a while ago: checked again
    assert len(checked) == 2


def test_a_call_cancelled_before_a_thread_takes_it_never_runs(database, rows):
    db = database(max_size=1)

    async def scenario() -> None:
        busy = asyncio.create_task(db.fetch_value("SELECT pg_sleep(0.3)"))
        await asyncio.sleep(0.1)
        busy.cancel()  # its slot is free again; its thread, the only one, still waits on the server
        queued = asyncio.create_task(db.fetch_value("SELECT app_create('never')"))
        await asyncio.sleep(0.05)
        queued.cancel()
        await asyncio.gather(busy, queued, return_exceptions=True)
        await asyncio.sleep(0.4)  # the thread is free again, and has passed over the cancelled call

    asyncio.run(scenario())

    assert rows("SELECT name FROM applications") == []
    assert asyncio.run(db.fetch_value("SELECT 1")) == 1


def test_a_call_whose_outcome_cannot_be_handed_back_leaves_its_thread_serving(database, caplog):
    db = database(max_size=1)
    closed_loop = asyncio.new_event_loop()
    closed_loop.close()
    db._calls.put(lambda: closed_loop.call_soon_threadsafe(print))  # raises: the loop is closed

    assert asyncio.run(asyncio.wait_for(db.fetch_value("SELECT 1"), 5)) == 1
    assert [record.levelname for record in caplog.records if record.name == "api.db.pool"] == ["ERROR"]


def test_a_call_on_a_closed_pool_fails_at_once(database):
    db = database(max_size=1)
    db.close()

    with pytest.raises(RuntimeError):
        asyncio.run(asyncio.wait_for(db.fetch_value("SELECT 1"), 5))
    db.close()  # again: nothing left to stop


def test_a_pool_that_cannot_be_made_leaves_no_thread_behind():
    db = Database("this is not a dsn", 1, 2, 1.0)

    with pytest.raises(psycopg2.ProgrammingError):
        db.open()
    assert db._executor is None  # no thread waits on the queue, to keep the process from exiting

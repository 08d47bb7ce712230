"""The change feed under concurrent writers: a reader that follows change_list() from any cursor sees
every revision after it exactly once, in increasing order, although the writers' transactions commit
in another order than they began (some held open a while, some rolled back).

This is what numbering revisions at commit, under one lock, buys (app_private.revision_record): were
a number taken earlier, a transaction holding a lower one could commit after a reader had moved its
cursor past it, and the reader would never see it."""

import itertools
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg2
from psycopg2.extras import Json

from api.etags import etag

WRITERS = 8
UPDATES = 30  # each writer's transactions, one config_update each
READERS = 4
FOLLOWS = 8  # the most cursors one reader follows at once
DEADLINE = 30  # seconds: a reader that has not caught up by then fails the test rather than hang it


@dataclass
class Follow:
    """A reader's cursor: where it started, the application it filters on (None: all), what it saw."""

    start: int
    application_id: str | None
    seen: list[int] = field(default_factory=list)

    @property
    def cursor(self) -> int:
        return self.seen[-1] if self.seen else self.start


def query(conn, statement: str, params: tuple = ()):
    with conn.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall()


def test_readers_see_every_revision_after_their_cursor_once_and_in_order(fresh_dsn):
    setup = psycopg2.connect(fresh_dsn)
    setup.autocommit = True
    apps = [query(setup, "SELECT app_create(%s)", (name,))[0][0]["id"] for name in ("billing", "payroll")]
    configurations = [
        query(setup, "SELECT config_create(%s, %s, '{}')", (apps[n % 2], f"c{n}"))[0][0] for n in range(6)
    ]
    before = query(setup, "SELECT revision_latest()")[0][0]
    go, writers_done = threading.Event(), threading.Event()
    deadline = time.monotonic() + DEADLINE

    def write(writer: int) -> list[tuple[tuple[int, int], float]]:
        """Its committed updates, as ((writer, n), when the transaction began)."""
        rng = random.Random(writer)
        conn = psycopg2.connect(fresh_dsn)
        committed = []
        try:
            go.wait()
            for n in range(UPDATES):
                configuration = rng.choice(configurations)
                began = time.monotonic()
                query(
                    conn,
                    "SELECT config_update(%s, %s, %s)",
                    (configuration["id"], configuration["name"], Json({"writer": writer, "n": n})),
                )
                if rng.random() < 0.6:  # held open: others that began later commit first
                    time.sleep(rng.uniform(0, 0.008))
                if rng.random() < 0.1:
                    conn.rollback()
                else:
                    conn.commit()
                    committed.append(((writer, n), began))
        finally:
            conn.close()
        return committed

    def read(reader: int) -> list[Follow]:
        rng = random.Random(1000 + reader)
        conn = psycopg2.connect(fresh_dsn)
        conn.autocommit = True
        follows: list[Follow] = []
        next_start = 0  # a new follow once the feed has grown past this, all along the run
        try:
            go.wait()
            while time.monotonic() < deadline:
                done = writers_done.is_set()  # before this pass: an empty page after it means caught up
                if not done and len(follows) < FOLLOWS:
                    [(latest,)] = query(conn, "SELECT revision_latest()")
                    if latest >= next_start:
                        start = rng.randint(0, latest) if not follows else rng.randint(max(0, latest - 10), latest)
                        follows.append(Follow(start, rng.choice([None, None, *apps])))
                        next_start = latest + rng.randint(10, 40)
                caught_up = True
                for follow in follows:
                    [(page,)] = query(
                        conn,
                        "SELECT change_list(%s, %s, %s)",
                        (follow.cursor, rng.randint(1, 4), follow.application_id),
                    )
                    follow.seen += [entry["revision"] for entry in page]
                    caught_up = caught_up and not page
                if done and caught_up:
                    return follows
            raise AssertionError(f"reader {reader} did not catch up in {DEADLINE} s")
        finally:
            conn.close()

    with ThreadPoolExecutor(WRITERS + READERS) as pool:
        readers = [pool.submit(read, reader) for reader in range(READERS)]
        writers = [pool.submit(write, writer) for writer in range(WRITERS)]
        go.set()
        try:
            committed = [update for writer in writers for update in writer.result()]
        finally:
            writers_done.set()
        follows = [follow for reader in readers for follow in reader.result()]

    # Every reader saw, from where it started, exactly the revisions there are after it: none skipped,
    # none twice, in order.
    for follow in follows:
        expected = query(
            setup,
            "SELECT revision FROM revisions WHERE revision > %s AND (%s::text IS NULL OR application_id = %s)"
            " ORDER BY revision",
            (follow.start, follow.application_id, follow.application_id),
        )
        assert follow.seen == [revision for (revision,) in expected], (
            follow,
            "missing",
            {r for (r,) in expected} - set(follow.seen),
        )

    # Every committed update is a revision, and nothing else is: the rolled back ones left none.
    updates = query(
        setup,
        "SELECT revision, state -> 'config' FROM revisions WHERE revision > %s ORDER BY revision",
        (before,),
    )
    assert sorted((config["writer"], config["n"]) for _, config in updates) == sorted(key for key, _ in committed)
    assert WRITERS * UPDATES * 0.8 < len(committed) < WRITERS * UPDATES
    for configuration in configurations:  # and the newest of each is what the configuration holds now
        [(now,)] = query(setup, "SELECT config_get(%s) -> 'config'", (configuration["id"],))
        [(newest,)] = query(
            setup, "SELECT state -> 'config' FROM revisions WHERE id = %s ORDER BY revision DESC LIMIT 1",
            (configuration["id"],),
        )  # fmt: skip
        assert now == newest

    # The test did what it says: transactions committed in another order than they began, and readers
    # started from cursors all along the run, filtered and not.
    revision_of = {(config["writer"], config["n"]): revision for revision, config in updates}
    in_order_begun = [revision_of[key] for key, _ in sorted(committed, key=lambda update: update[1])]
    assert any(a > b for a, b in itertools.pairwise(in_order_begun))
    latest = updates[-1][0]
    assert sum(before < follow.start < latest - 20 for follow in follows) > READERS
    assert any(follow.application_id for follow in follows) and any(not follow.application_id for follow in follows)
    assert sum(len(follow.seen) for follow in follows) > latest
    setup.close()


def test_an_applications_etag_in_each_revision_is_its_etag_as_of_that_commit(fresh_dsn):
    """A configuration's creation or deletion carries its application's new ETag, and an application's own
    revision its state: both as of the commit, with every revision numbered before it counted, also when
    several commit at once (what a watcher compares with the ETag it holds)."""
    setup = psycopg2.connect(fresh_dsn)
    setup.autocommit = True
    app = query(setup, "SELECT app_create('billing')")[0][0]
    writers = 8
    ready = threading.Barrier(writers)
    made = {(writer, -1): query(setup, "SELECT config_create(%s, %s, '{}')", (app["id"], f"c{writer}"))[0][0]["id"]
            for writer in range(1, writers)}  # fmt: skip

    def write(writer: int) -> None:
        """Rounds of concurrent commits: the application renamed while its configurations are deleted (a
        rename and a creation would wait for each other's row lock), then configurations created."""
        conn = psycopg2.connect(fresh_dsn)
        try:
            for round in range(4):
                if round % 2 == 1:
                    [(created,)] = query(conn, "SELECT config_create(%s, %s, '{}')", (app["id"], f"c{writer}-{round}"))
                    made[writer, round] = created["id"]
                elif writer == 0:
                    query(conn, "SELECT app_update(%s, %s)", (app["id"], f"billing-{round}"))
                else:
                    query(conn, "SELECT config_delete(%s) IS NULL", (made[writer, round - 1 if round else -1],))
                ready.wait(timeout=DEADLINE)  # all commit at once: each waits for the lock of the one before
                conn.commit()
        finally:
            conn.close()

    with ThreadPoolExecutor(writers) as pool:
        for future in [pool.submit(write, writer) for writer in range(writers)]:
            future.result()

    # The application as of each revision, replayed from the revisions: its own newest state, with the
    # configuration ids that exist then; its ETag is what app_get would have answered just after it.
    replayed = query(
        setup,
        """SELECT r.revision, coalesce(r.application_etag, r.etag),
                  app_private.etag(jsonb_set(own.state, '{configuration_ids}', coalesce(
                    (SELECT jsonb_agg(c.id ORDER BY c.id)
                       FROM (SELECT DISTINCT ON (id) id, action FROM revisions
                              WHERE entity = 'configuration' AND application_id = %(id)s AND revision <= r.revision
                              ORDER BY id, revision DESC) AS c
                      WHERE c.action <> 'deleted'), '[]'))::json)
             FROM revisions r
            CROSS JOIN LATERAL (SELECT state FROM revisions
                                 WHERE id = %(id)s AND revision <= r.revision ORDER BY revision DESC LIMIT 1) AS own
            WHERE r.application_id = %(id)s AND (r.entity = 'application' OR r.action <> 'updated')
            ORDER BY r.revision""",
        {"id": app["id"]},
    )
    assert len(replayed) == 1 + 7 + 2 * (1 + 7 + 8)  # created with 7; twice: renamed, 7 deleted, 8 created
    assert [(revision, carried) for revision, carried, _ in replayed] == [
        (revision, expected) for revision, _, expected in replayed
    ]
    [(now,)] = query(setup, "SELECT app_get(%s)::text", (app["id"],))
    assert replayed[-1][1] == etag(now)
    setup.close()

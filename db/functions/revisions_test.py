"""app_revisions/config_revisions and app_revision/config_revision: every write, through the functions or
straight on the tables, is kept as a revision of its resource, attributed to the role that made it.

Each test starts with no revision (conftest's migrated_dsn), but the numbers go on from the last test's:
they look at their own resources' revisions, or at those after revision_latest() as it was when they began."""

import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extras import Json
from ulid import ULID

from api.etags import etag

AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

# The seed's DDL (/work/shared/seed, "SQL DDL"; migrations/0001_init.sql): (column, type, length, nullable).
SEED_COLUMNS = {
    "applications": [
        ("id", "text", None, "NO"),
        ("name", "character varying", 256, "NO"),
        ("comments", "character varying", 1024, "YES"),
    ],
    "configurations": [
        ("id", "text", None, "NO"),
        ("application_id", "text", None, "NO"),
        ("name", "character varying", 256, "NO"),
        ("comments", "character varying", 1024, "YES"),
        ("config", "jsonb", None, "NO"),
    ],
}


def text_of(rows, function: str, resource_id: str) -> str:
    """What the *_get function returns, as the text the API sends (and hashes into the ETag)."""
    return rows(f"SELECT {function}(%s)::text", (resource_id,))[0][0]


def latest(rows) -> int:
    return rows("SELECT revision_latest()")[0][0]


def recorded(rows, after: int) -> list[tuple]:
    """(entity, action, id, application_id, changed_by) of each revision after `after`, in order."""
    return rows(
        "SELECT entity, action, id, application_id, changed_by FROM revisions WHERE revision > %s ORDER BY revision",
        (after,),
    )


def execute(db, statement, params: tuple = ()) -> None:
    with db.cursor() as cur:
        cur.execute(statement, params)


@contextmanager
def role(dsn: str, options: str = "LOGIN") -> Iterator[str]:
    """A new role (`options` as CREATE ROLE takes them), dropped afterwards with what it was granted."""
    name = f"role_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("CREATE ROLE {} " + options).format(sql.Identifier(name)))
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(sql.SQL("DROP OWNED BY {0}; DROP ROLE {0}").format(sql.Identifier(name)))
        admin.close()


def test_a_history_lists_every_change_newest_first_with_its_number_time_role_and_etag(call, rows):
    me = rows("SELECT session_user")[0][0]
    before = datetime.now(UTC)
    app = call("app_create", "billing")
    app_tags = [etag(text_of(rows, "app_get", app["id"]))]
    call("app_update", app["id"], "invoicing", "moved")
    app_tags.append(etag(text_of(rows, "app_get", app["id"])))
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    config_tags = [etag(text_of(rows, "config_get", configuration["id"]))]
    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    config_tags.append(etag(text_of(rows, "config_get", configuration["id"])))
    call("config_delete", configuration["id"])

    history = call("app_revisions", app["id"].lower())
    config_history = call("config_revisions", configuration["id"])

    assert [(r["action"], r["etag"]) for r in history] == [("updated", app_tags[1]), ("created", app_tags[0])]
    assert [(r["action"], r.get("etag")) for r in config_history] == [
        ("deleted", None),
        ("updated", config_tags[1]),
        ("created", config_tags[0]),
    ]
    for entry in history + config_history:
        assert set(entry) == {"revision", "action", "at", "by", "etag"} - (
            {"etag"} if entry["action"] == "deleted" else set()
        )
        assert entry["by"] == me
        assert AT.match(entry["at"]), entry["at"]
        assert before - timedelta(seconds=1) <= datetime.fromisoformat(entry["at"]) <= datetime.now(UTC)
    assert history[0]["revision"] > history[1]["revision"]
    assert config_history[0]["revision"] > config_history[1]["revision"] > config_history[2]["revision"]
    assert history[0]["revision"] < config_history[2]["revision"]  # numbered across both, in commit order
    assert rows("SELECT revision, action FROM revisions WHERE id = %s ORDER BY revision DESC", (app["id"],)) == [
        (r["revision"], r["action"]) for r in history
    ]


def test_a_history_pages_with_before_and_limit(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"n": 0}))
    for n in range(1, 5):
        call("config_update", configuration["id"], "production", Json({"n": n}))
    for n in range(1, 5):
        call("app_update", app["id"], f"billing-{n}")

    for function, resource_id in (("config_revisions", configuration["id"]), ("app_revisions", app["id"])):
        everything = call(function, resource_id)
        first = call(function, resource_id, None, 2)
        second = call(function, resource_id, first[-1]["revision"], 2)
        third = call(function, resource_id, second[-1]["revision"], 2)

        assert len(everything) == 5
        assert (first, second, third) == (everything[:2], everything[2:4], everything[4:])
        assert call(function, resource_id, everything[-1]["revision"]) == []  # nothing before the first
        assert call(function, resource_id, everything[0]["revision"] + 10**6, 1) == everything[:1]


def test_a_history_is_read_after_the_deletion_too(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    call("config_delete", configuration["id"])
    call("app_delete", app["id"])

    assert [r["action"] for r in call("config_revisions", configuration["id"])] == ["deleted", "created"]
    assert [r["action"] for r in call("app_revisions", app["id"])] == ["deleted", "created"]


def test_no_history_is_P0002_a_limit_below_one_22023_and_a_bad_id_22P02(call, sqlstate):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))

    for function, resource_id, other in (
        ("app_revisions", app["id"], configuration["id"]),
        ("config_revisions", configuration["id"], app["id"]),
    ):
        assert sqlstate(function, str(ULID())) == "P0002"
        assert sqlstate(function, other) == "P0002"  # the other kind's id is not one of its own
        assert sqlstate(function, resource_id, None, 0) == "22023"
        assert sqlstate(function, "nope") == "22P02"
    for function, resource_id in (("app_revision", app["id"]), ("config_revision", configuration["id"])):
        [mine] = call(function.replace("revision", "revisions"), resource_id)
        assert sqlstate(function, resource_id, mine["revision"] + 10**6) == "P0002"
        assert sqlstate(function, str(ULID()), mine["revision"]) == "P0002"
        assert sqlstate(function, resource_id, None) == "22004"
        assert sqlstate(function, "nope", mine["revision"]) == "22P02"


def test_a_revision_holds_the_resource_as_its_get_returned_it_and_that_texts_etag(call, rows):
    """app_private.application_state and configuration_state build the documents as app_get and config_get do:
    equal ETags need equal text, key order and number forms included."""
    app = call("app_create", "billing", "ünïcode ✓")
    seen = {app["id"]: [text_of(rows, "app_get", app["id"])]}
    configuration = call(
        "config_create", app["id"], "production", Json({"b": [1, 2.50, {"z": None}], "a": "x"}), "notes"
    )
    seen[configuration["id"]] = [text_of(rows, "config_get", configuration["id"])]
    rows("UPDATE configurations SET config = '{\"n\": 1.10, \"big\": 1e30, \"t\": true}' WHERE id = %s RETURNING 1",
         (configuration["id"],))  # fmt: skip
    seen[configuration["id"]].append(text_of(rows, "config_get", configuration["id"]))
    call("app_update", app["id"], "invoicing")  # now with a configuration id
    seen[app["id"]].append(text_of(rows, "app_get", app["id"]))

    for function, resource_id in (("app_revision", app["id"]), ("config_revision", configuration["id"])):
        history = list(reversed(call(function.replace("revision", "revisions"), resource_id)))
        assert len(history) == len(seen[resource_id])
        for entry, text in zip(history, seen[resource_id], strict=True):
            revision = call(function, resource_id.lower(), entry["revision"])
            assert revision == {**entry, "state": json.loads(text)}
            assert revision["etag"] == etag(text)
            assert rows("SELECT state::text FROM revisions WHERE revision = %s", (entry["revision"],)) == [(text,)]


def test_a_revision_after_a_deletion_has_no_state_nor_etag(call):
    app = call("app_create", "billing")
    call("app_delete", app["id"])
    deleted = call("app_revisions", app["id"])[0]

    assert call("app_revision", app["id"], deleted["revision"]) == {**deleted, "state": None}
    assert "etag" not in deleted


def test_a_configurations_creation_and_deletion_carry_its_applications_new_etag(call, rows):
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    tags = [etag(text_of(rows, "app_get", app["id"]))]
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    tags.append(etag(text_of(rows, "app_get", app["id"])))
    call("config_update", configuration["id"], "production", Json({"replicas": 4}))
    call("config_create", other["id"], "production", Json({}))  # another application's: not this one's tag
    call("config_delete", configuration["id"])
    tags.append(etag(text_of(rows, "app_get", app["id"])))

    assert len(set(tags)) == 2 and tags[0] == tags[2]  # back to no configuration
    assert tags[0] != tags[1]
    assert rows(
        "SELECT action, application_etag FROM revisions WHERE id = %s ORDER BY revision", (configuration["id"],)
    ) == [("created", tags[1]), ("updated", None), ("deleted", tags[2])]
    # an application's own revisions carry no application_etag: their etag is it
    assert rows("SELECT application_etag FROM revisions WHERE id = %s", (app["id"],)) == [(None,)]


def test_writes_straight_on_the_tables_are_recorded(db, rows):
    me = rows("SELECT session_user")[0][0]
    start = latest(rows)
    app_id, config_id = str(ULID()), str(ULID())
    with db.cursor() as cur:
        cur.execute("INSERT INTO applications (id, name) VALUES (%s, 'billing')", (app_id,))
        cur.execute(
            "INSERT INTO configurations (id, application_id, name, config) VALUES (%s, %s, 'p', '{\"a\": 1}')",
            (config_id, app_id),
        )
        cur.execute("UPDATE configurations SET config = '{\"a\": 2}' WHERE id = %s", (config_id,))
        cur.execute("UPDATE applications SET comments = 'by hand' WHERE id = %s", (app_id,))
        cur.execute("DELETE FROM configurations WHERE id = %s", (config_id,))
        cur.execute("DELETE FROM applications WHERE id = %s", (app_id,))

    assert recorded(rows, start) == [
        ("application", "created", app_id, app_id, me),
        ("configuration", "created", config_id, app_id, me),
        ("configuration", "updated", config_id, app_id, me),
        ("application", "updated", app_id, app_id, me),
        ("configuration", "deleted", config_id, app_id, me),
        ("application", "deleted", app_id, app_id, me),
    ]
    assert rows(
        "SELECT state FROM revisions WHERE revision > %s AND entity = 'configuration' ORDER BY revision", (start,)
    ) == [
        ({"id": config_id, "application_id": app_id, "name": "p", "comments": None, "config": {"a": 1}},),
        ({"id": config_id, "application_id": app_id, "name": "p", "comments": None, "config": {"a": 2}},),
        (None,),
    ]
    assert rows(
        "SELECT state FROM revisions WHERE revision > %s AND entity = 'application' AND action = 'updated'", (start,)
    ) == [({"id": app_id, "name": "billing", "comments": "by hand", "configuration_ids": [config_id]},)]


@pytest.mark.parametrize(
    "truncate",
    [
        "TRUNCATE configurations",
        "TRUNCATE configurations, applications",
        # PostgreSQL fires the triggers in the order the tables are named: the configurations still go first
        "TRUNCATE applications, configurations",
        "TRUNCATE applications CASCADE",
    ],
)
def test_a_truncate_in_psql_is_recorded_as_the_deletion_of_each_row(db, call, rows, truncate):
    me = rows("SELECT session_user")[0][0]
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    for n in range(3):
        call("config_create", app["id"], f"c{n}", Json({}))
    call("config_create", other["id"], "c", Json({}))
    configurations = rows("SELECT id, application_id FROM configurations ORDER BY id")
    # Each configuration's deletion carries its application's ETag once it is gone, as a DELETE of each in
    # id order would: what app_get answers after those deletes (rolled back).
    db.autocommit = False
    after_each = []
    for config_id, app_id in configurations:
        execute(db, "DELETE FROM configurations WHERE id = %s", (config_id,))
        after_each.append(etag(text_of(rows, "app_get", app_id)))
    db.rollback()
    db.autocommit = True
    start = latest(rows)

    execute(db, truncate)

    assert rows(
        "SELECT entity, action, id, application_id, application_etag, changed_by FROM revisions"
        " WHERE revision > %s ORDER BY revision",
        (start,),
    ) == [
        *(
            ("configuration", "deleted", config_id, app_id, tag, me)
            for (config_id, app_id), tag in zip(configurations, after_each, strict=True)
        ),
        *(
            ("application", "deleted", app_id, app_id, None, me)
            for app_id in (sorted([app["id"], other["id"]]) if "applications" in truncate else [])
        ),
    ]
    assert call("config_revisions", configurations[0][0])[0]["action"] == "deleted"


def test_an_update_in_psql_by_another_login_role_is_its_own(migrated_dsn, db, call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    with role(migrated_dsn) as editor:
        execute(db, sql.SQL("GRANT SELECT, UPDATE ON configurations TO {}").format(sql.Identifier(editor)))
        conn = psycopg2.connect(f"{migrated_dsn} user={editor}")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE configurations SET config = '{\"replicas\": 4}' WHERE id = %s", (configuration["id"],)
                )
                # The trigger writes as the table's owner: the role itself may not even read the revisions.
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                    cur.execute("SELECT FROM revisions")
        finally:
            conn.close()

        [newest, _] = call("config_revisions", configuration["id"])
        assert (newest["action"], newest["by"]) == ("updated", editor)
        assert call("config_revision", configuration["id"], newest["revision"])["state"]["config"] == {"replicas": 4}


def test_an_update_after_set_role_is_the_set_roles(migrated_dsn, db, call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    with role(migrated_dsn, "NOLOGIN") as team, role(migrated_dsn) as person:
        execute(db, sql.SQL("GRANT SELECT, UPDATE ON configurations TO {}").format(sql.Identifier(team)))
        execute(db, sql.SQL("GRANT {} TO {} WITH INHERIT FALSE").format(sql.Identifier(team), sql.Identifier(person)))
        conn = psycopg2.connect(f"{migrated_dsn} user={person}")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(team)))
                cur.execute(
                    "UPDATE configurations SET config = '{\"replicas\": 4}' WHERE id = %s", (configuration["id"],)
                )
                cur.execute("RESET ROLE")
                with pytest.raises(psycopg2.errors.InsufficientPrivilege):  # the person alone may not
                    cur.execute("UPDATE configurations SET config = '{}' WHERE id = %s", (configuration["id"],))
        finally:
            conn.close()

        newest = call("config_revisions", configuration["id"])[0]
        assert (newest["action"], newest["by"]) == ("updated", team)


def test_a_rolled_back_transaction_records_nothing_nor_spends_a_number(db, call, rows):
    app = call("app_create", "billing")
    start = latest(rows)
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute("SELECT app_update(%s, 'renamed')", (app["id"],))
        cur.execute("SELECT config_create(%s, 'production', '{}')", (app["id"],))
        cur.execute("INSERT INTO applications (id, name) VALUES (%s, 'by hand')", (str(ULID()),))
    db.rollback()
    db.autocommit = True

    assert latest(rows) == start and recorded(rows, start) == []
    assert [r["action"] for r in call("app_revisions", app["id"])] == ["created"]
    call("app_update", app["id"], "renamed")
    assert latest(rows) == start + 1  # numbers are taken at commit: the rollback took none


def test_changes_in_one_transaction_get_consecutive_revisions_in_statement_order(db, call, rows):
    me = rows("SELECT session_user")[0][0]
    app_id, config_id, other_id = str(ULID()), str(ULID()), str(ULID())
    call("app_create", "before")
    start = latest(rows)  # this one's number: the sequence goes on from it, whatever earlier tests took
    db.autocommit = False
    with db.cursor() as cur:
        cur.execute("SELECT app_create('billing', NULL, %s)", (app_id,))
        cur.execute("SELECT config_create(%s, 'production', '{\"n\": 1}', NULL, %s)", (app_id, config_id))
        cur.execute("SELECT app_update(%s, 'invoicing')", (app_id,))
        cur.execute("SELECT config_update(%s, 'production', '{\"n\": 2}')", (config_id,))
        cur.execute("SELECT app_create('payroll', NULL, %s)", (other_id,))
        cur.execute("SELECT config_update(%s, 'production', '{\"n\": 3}')", (config_id,))
    db.commit()
    db.autocommit = True

    assert rows("SELECT revision - %s, entity, action, id, state #>> '{config,n}', state ->> 'name' FROM revisions"
                " WHERE revision > %s ORDER BY revision", (start, start)) == [
        (1, "application", "created", app_id, None, "billing"),
        (2, "configuration", "created", config_id, "1", "production"),
        (3, "application", "updated", app_id, None, "invoicing"),
        (4, "configuration", "updated", config_id, "2", "production"),
        (5, "application", "created", other_id, None, "payroll"),
        (6, "configuration", "updated", config_id, "3", "production"),
    ]  # fmt: skip
    assert {by for *_, by in recorded(rows, start)} == {me}


def test_a_row_whose_id_changes_is_a_deletion_and_a_creation(call, rows):
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    configuration = call("config_create", app["id"], "production", Json({}))
    new_app_id, new_config_id = str(ULID()), str(ULID())
    start = latest(rows)

    rows("UPDATE applications SET id = %s WHERE id = %s RETURNING 1", (new_app_id, other["id"]))
    rows("UPDATE configurations SET id = %s WHERE id = %s RETURNING 1", (new_config_id, configuration["id"]))
    rows("UPDATE configurations SET application_id = %s WHERE id = %s RETURNING 1", (new_app_id, new_config_id))

    assert [row[:4] for row in recorded(rows, start)] == [
        ("application", "deleted", other["id"], other["id"]),
        ("application", "created", new_app_id, new_app_id),
        ("configuration", "deleted", configuration["id"], app["id"]),
        ("configuration", "created", new_config_id, app["id"]),
        # moved to another application: each application's watchers hear of their own
        ("configuration", "deleted", new_config_id, app["id"]),
        ("configuration", "created", new_config_id, new_app_id),
    ]
    assert call("config_revision", new_config_id, latest(rows))["state"] == call("config_get", new_config_id)
    assert [r["action"] for r in call("app_revisions", other["id"])] == ["deleted", "created"]


def test_the_seeds_tables_keep_exactly_their_columns(rows):
    for table, columns in SEED_COLUMNS.items():
        assert (
            rows(
                "SELECT column_name, data_type, character_maximum_length, is_nullable FROM information_schema.columns"
                " WHERE table_schema = 'public' AND table_name = %s ORDER BY ordinal_position",
                (table,),
            )
            == columns
        ), table

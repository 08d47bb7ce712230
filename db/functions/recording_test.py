"""What the triggers record, whoever writes: raw INSERT, UPDATE, DELETE and TRUNCATE on the
tables as well as the functions, attributed to the role that wrote, at commit, in statement order;
and the seed's two tables keep their columns.

Each test starts with no revision (conftest's migrated_dsn), but the numbers go on from the last test's:
they look at their own resources' revisions, or at those after revision_latest() as it was when they began."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import pytest
from psycopg2 import sql
from psycopg2.extras import Json
from ulid import ULID

from api.etags import etag

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

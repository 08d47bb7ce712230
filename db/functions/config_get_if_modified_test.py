"""config_get_if_modified and config_get_by_name_if_modified: the document and its row version, or,
given that version back while the row is still the one it was read from, no document. Whoever wrote
since (the functions, the owner in psql, with triggers off), the document comes back."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest
from psycopg2.extras import Json
from ulid import ULID

BIG = {"servers": [{"host": f"h{n}", "port": 8000 + n} for n in range(50)], "replicas": 3}


def execute(db, statement: str, params: tuple = ()) -> None:
    with db.cursor() as cur:
        cur.execute(statement, params)


def by_id(db, configuration: dict, version: int | None) -> tuple[Any, int | None]:
    with db.cursor() as cur:
        cur.execute("SELECT * FROM config_get_if_modified(%s, %s)", (configuration["id"], version))
        [row] = cur.fetchall()
    return row


def by_name(db, configuration: dict, version: int | None, application: str = "billing") -> tuple[Any, int | None]:
    with db.cursor() as cur:
        cur.execute(
            "SELECT * FROM config_get_by_name_if_modified(%s, %s, %s)", (application, configuration["name"], version)
        )
        [row] = cur.fetchall()
    return row


READS = [pytest.param(by_id, id="by_id"), pytest.param(by_name, id="by_name")]
Read = Callable[[Any, dict, int | None], tuple[Any, int | None]]


@pytest.fixture
def configuration(call) -> dict:
    app = call("app_create", "billing")
    return call("config_create", app["id"], "production", Json(BIG), "first")


def first_read(db, call, read: Read, configuration: dict) -> int:
    """A read with no version: the document config_get returns, and a version; that version given
    back is "unchanged" (no document, the same version)."""
    document, version = read(db, configuration, None)
    assert document == call("config_get", configuration["id"]) == configuration
    assert isinstance(version, int)
    assert read(db, configuration, version) == (None, version)
    return version


@pytest.mark.parametrize("read", READS)
def test_no_version_gives_the_document_and_its_version_given_back_gives_none(db, call, configuration, read):
    version = first_read(db, call, read, configuration)

    assert read(db, configuration, version) == (None, version)  # as often as asked
    document, same = read(db, configuration, version - 1)  # another version: the document
    assert (document, same) == (configuration, version)


@contextmanager
def replica_role(db) -> Iterator[None]:
    execute(db, "SET session_replication_role = replica")
    try:
        yield
    finally:
        execute(db, "RESET session_replication_role")


@contextmanager
def triggers_disabled(db) -> Iterator[None]:
    execute(db, "ALTER TABLE configurations DISABLE TRIGGER ALL")
    try:
        yield
    finally:
        execute(db, "ALTER TABLE configurations ENABLE TRIGGER ALL")


def through_config_update(db, call, configuration: dict) -> None:
    call("config_update", configuration["id"], configuration["name"], Json({"replicas": 4}), "first")


def raw_update(db, call, configuration: dict) -> None:
    execute(db, "UPDATE configurations SET config = '{\"replicas\": 5}' WHERE id = %s", (configuration["id"],))


def raw_update_as_a_replica(db, call, configuration: dict) -> None:
    with replica_role(db):
        raw_update(db, call, configuration)


def raw_update_with_triggers_disabled(db, call, configuration: dict) -> None:
    with triggers_disabled(db):
        raw_update(db, call, configuration)


WRITES = [
    pytest.param(through_config_update, id="config_update"),
    pytest.param(raw_update, id="raw_update"),
    pytest.param(raw_update_as_a_replica, id="session_replication_role_replica"),
    pytest.param(raw_update_with_triggers_disabled, id="disable_trigger_all"),
]


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("write", WRITES)
def test_a_change_by_any_writer_gives_the_new_document(db, call, rows, configuration, read, write):
    version = first_read(db, call, read, configuration)
    notified_before = rows("SELECT count(*) FROM revisions")[0][0]

    write(db, call, configuration)

    document, new_version = read(db, configuration, version)
    assert document is not None and document == call("config_get", configuration["id"])
    assert document["config"] != configuration["config"]  # the write took
    assert isinstance(new_version, int) and new_version != version
    assert read(db, configuration, new_version) == (None, new_version)
    # The triggers ran, or did not, as the writer chose: the versions do not depend on them.
    recorded = rows("SELECT count(*) FROM revisions")[0][0] - notified_before
    assert recorded == (0 if "replica" in write.__name__ or "disabled" in write.__name__ else 1)


@pytest.mark.parametrize("read", READS)
def test_an_update_to_identical_content_is_a_new_version_with_the_same_document(db, call, configuration, read):
    version = first_read(db, call, read, configuration)

    call("config_update", configuration["id"], configuration["name"], Json(BIG), "first")

    document, new_version = read(db, configuration, version)
    assert document == configuration == call("config_get", configuration["id"])
    assert isinstance(new_version, int) and new_version != version


def recreate_by_revert(db, call, configuration: dict) -> None:
    """config_revert to the revision before the deletion (the deletion itself has no state)."""
    deletion, before = call("config_revisions", configuration["id"])[:2]
    assert deletion["action"] == "deleted"
    call("config_revert", configuration["id"], before["revision"])


def recreate_by_insert(db, call, configuration: dict) -> None:
    execute(
        db,
        "INSERT INTO configurations (id, application_id, name, comments, config) VALUES (%s, %s, %s, %s, %s)",
        (
            configuration["id"],
            configuration["application_id"],
            configuration["name"],
            configuration["comments"],
            Json(configuration["config"]),
        ),
    )


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize("recreate", [recreate_by_revert, recreate_by_insert], ids=["config_revert", "raw_insert"])
def test_deleted_and_recreated_with_the_same_id_gives_the_document_again(db, call, configuration, read, recreate):
    version = first_read(db, call, read, configuration)

    call("config_delete", configuration["id"])
    recreate(db, call, configuration)

    document, new_version = read(db, configuration, version)
    assert document == configuration == call("config_get", configuration["id"])
    assert isinstance(new_version, int) and new_version != version


@pytest.mark.parametrize("read", READS)
@pytest.mark.parametrize(
    "vacuum", ["VACUUM FULL configurations", "VACUUM (FULL, FREEZE) configurations", "VACUUM (FREEZE) configurations"]
)
def test_after_a_vacuum_an_unchanged_row_is_unchanged_or_the_same_document(db, call, configuration, read, vacuum):
    version = first_read(db, call, read, configuration)

    execute(db, vacuum)

    document, new_version = read(db, configuration, version)
    assert document is None or document == configuration
    assert (document is None) == (new_version == version)  # "unchanged" exactly when the version is kept


@pytest.mark.parametrize("read", READS)
def test_the_version_is_null_while_a_transaction_older_than_the_write_is_open(db, migrated_dsn, call, rows, read):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3}))
    other = call("config_create", app["id"], "staging", Json({"replicas": 1}))
    version = first_read(db, call, read, configuration)
    older = psycopg2.connect(migrated_dsn)
    try:
        with older.cursor() as cur:
            cur.execute("SELECT pg_current_xact_id()")  # takes an xid: the snapshot's xmin is at most it
        call("config_update", configuration["id"], "production", Json({"replicas": 4}))

        document, during = read(db, configuration, version)
        assert document == call("config_get", configuration["id"]) and document["config"] == {"replicas": 4}
        assert during is None
        assert read(db, configuration, None) == (document, None)  # nothing to give back: always the document
        # A row written before that transaction began still has its version.
        other_version = read(db, other, None)[1]
        assert isinstance(other_version, int)
        assert read(db, other, other_version) == (None, other_version)
    finally:
        older.rollback()
        older.close()

    document, after = read(db, configuration, version)
    assert document["config"] == {"replicas": 4} and isinstance(after, int) and after != version
    assert read(db, configuration, after) == (None, after)


@pytest.mark.parametrize("version", [None, 1])
def test_an_unknown_id_is_P0002_and_a_malformed_one_22P02(db, version):
    for configuration_id, code in [(str(ULID()), "P0002"), ("x", "22P02")]:
        with pytest.raises(psycopg2.Error) as failure:
            by_id(db, {"id": configuration_id}, version)
        assert failure.value.pgcode == code


@pytest.mark.parametrize("version", [None, 1])
@pytest.mark.parametrize(("application", "name"), [("nope", "production"), ("billing", "nope")])
def test_unknown_names_are_P0002(db, configuration, application, name, version):
    with pytest.raises(psycopg2.Error) as failure:
        by_name(db, {"name": name}, version, application=application)
    assert failure.value.pgcode == "P0002"


def test_after_renaming_the_configuration_the_old_names_are_P0002_even_with_the_old_version(db, call, configuration):
    version = first_read(db, call, by_name, configuration)

    renamed = call("config_update", configuration["id"], "renamed", Json(BIG), "first")

    for given in (version, None):
        with pytest.raises(psycopg2.Error) as failure:
            by_name(db, configuration, given)
        assert failure.value.pgcode == "P0002"
    document, new_version = by_name(db, renamed, version)
    assert document == renamed == call("config_get", configuration["id"]) and new_version != version


def test_after_renaming_the_application_its_old_name_is_P0002_even_with_the_old_version(db, call, configuration):
    version = first_read(db, call, by_name, configuration)

    call("app_update", configuration["application_id"], "renamed")

    with pytest.raises(psycopg2.Error) as failure:
        by_name(db, configuration, version)
    assert failure.value.pgcode == "P0002"
    # By its new name: the application's row is part of what the names read, so the document again.
    document, again = by_name(db, configuration, version, application="renamed")
    assert document == configuration and again > version


def test_names_that_come_to_find_another_row_of_the_same_version_give_its_document(db, call):
    # Two applications, each with a configuration "production", written by one transaction (as a
    # restore, or an INSERT ... SELECT in psql, writes many rows): both rows have the same xmin.
    db.autocommit = False
    first = call("app_create", "billing")
    second = call("app_create", "payroll")
    mine = call("config_create", first["id"], "production", Json({"owner": "billing"}))
    theirs = call("config_create", second["id"], "production", Json({"owner": "payroll"}))
    db.commit()
    db.autocommit = True
    version = first_read(db, call, by_name, mine)

    # The names "billing"/"production" come to mean payroll's configuration; no configuration row is written.
    call("app_update", first["id"], "billing-old")
    call("app_update", second["id"], "billing")

    assert call("config_get_by_name", "billing", "production") == theirs
    document, _ = by_name(db, mine, version)
    assert document == theirs  # fails: (None, version), "unchanged", and a 304 keeps billing's document

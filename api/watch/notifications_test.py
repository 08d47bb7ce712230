"""A notification is a change only as the writing functions send it: any role may NOTIFY."""

import json

import pytest

from api.watch.notifications import Change, parse

APP = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
CONFIG = "01ARZ3NDEKTSV4RRFFQ69G5FAW"
TAG = '"' + "ab" * 16 + '"'


def payload(**fields) -> str:
    base = {"id": CONFIG, "etag": TAG, "action": "updated", "entity": "configuration", "revision": 7}
    base["application_id"] = APP
    return json.dumps({k: v for k, v in (base | fields).items() if v is not None})


def test_what_the_functions_send_is_a_change_and_is_written_again_as_sent():
    created = payload(action="created", application_etag=TAG)
    deleted = payload(entity="application", action="deleted", id=APP, etag=None)

    assert parse(payload()) == Change(7, "configuration", "updated", CONFIG, APP, TAG)
    assert parse(created).event_data() == created
    assert parse(deleted).event_data() == deleted
    assert parse(payload()).keys() == {("configuration", CONFIG)}
    assert parse(created).keys() == {("configuration", CONFIG), ("application", APP)}


@pytest.mark.parametrize(
    "forged",
    [
        "not json",
        "[]",
        payload(id="\ud800"),  # a lone surrogate, which no response could encode
        payload(id="01arz3ndektsv4rrffq69g5faw"),  # not as the functions write ids
        payload(id=7),
        payload(application_id="x" * 26),
        payload(etag={"a": 1}),
        payload(etag='"' + "0" * 31 + '"'),
        payload(etag=None),  # an update without its new ETag
        payload(action="deleted"),  # a delete with one
        payload(action="renamed\nevent: x"),
        payload(entity="user"),
        payload(revision=None),  # every change carries its revision
        payload(revision=0),
        payload(revision=-3),
        payload(revision=2**63),
        payload(revision=7.0),
        payload(revision="7"),
        payload(revision=True),
        payload(extra="relayed as sent"),
        payload(application_etag=TAG),  # only a configuration's creation or deletion carries it
        payload(entity="application", id=APP, application_id=CONFIG),  # an application is its own
        payload()[:-1] + ', "n": 1e999999}',  # Infinity
        payload()[:-1] + ', "n": NaN}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_anything_else_is_not_a_change(forged):
    assert parse(forged) is None

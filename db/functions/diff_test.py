"""app_diff and config_diff: RFC 6902 JSON Patches between revisions, from app_private.json_patch. The
property: for any two documents a and b, the patch json_patch(a, b) applied to a gives b, checked here
with a small applier of our own (RFC 6902 add, remove and replace; RFC 6901 pointers)."""

import copy
import random
from decimal import Decimal

import simplejson
from psycopg2.extras import Json
from ulid import ULID


def patch_between(rows, a: str | None, b: str | None) -> list[dict]:
    """app_private.json_patch(a, b) for two JSON texts (None: SQL null, a deletion), numbers exact."""
    [(text,)] = rows("SELECT app_private.json_patch(%s::jsonb, %s::jsonb)::text", (a, b))
    return loads(text)


def loads(text: str):
    """JSON with every number a Decimal: 1 and 1.0 equal, as in jsonb, and never equal to true."""
    return simplejson.loads(text, parse_float=Decimal, parse_int=Decimal)


def dumps(document) -> str:
    return simplejson.dumps(document, use_decimal=True, ensure_ascii=False)


def same(x, y) -> bool:
    """Equal as jsonb compares: by kind first (Python's True == 1 would hide a missing replace)."""
    if isinstance(x, dict):
        return isinstance(y, dict) and x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
    if isinstance(x, list):
        return isinstance(y, list) and len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
    return type(x) is type(y) and x == y


def pointer(path: str) -> list[str]:
    """An RFC 6901 JSON Pointer's reference tokens, unescaped (~1 before ~0, as section 4 says)."""
    if path == "":
        return []
    assert path.startswith("/"), path
    return [token.replace("~1", "/").replace("~0", "~") for token in path[1:].split("/")]


def index(array: list, token: str, *, end_allowed: bool) -> int:
    if token == "-" and end_allowed:
        return len(array)
    assert token.isdigit() and str(int(token)) == token, token  # no sign, no leading zero
    assert int(token) < len(array) + end_allowed, (token, len(array))
    return int(token)


def apply(document, patch: list[dict]):
    """`document` with the RFC 6902 `patch` applied; an operation whose target is wrong fails the test."""
    document = copy.deepcopy(document)
    for operation in patch:
        op, tokens = operation["op"], pointer(operation["path"])
        assert set(operation) == ({"op", "path"} if op == "remove" else {"op", "path", "value"}), operation
        if not tokens:  # the whole document
            assert op in ("add", "replace"), operation
            document = copy.deepcopy(operation["value"])
            continue
        parent = document
        for token in tokens[:-1]:
            parent = parent[index(parent, token, end_allowed=False)] if isinstance(parent, list) else parent[token]
        last = tokens[-1]
        if isinstance(parent, list):
            at = index(parent, last, end_allowed=op == "add")
            if op == "add":
                parent.insert(at, copy.deepcopy(operation["value"]))
            elif op == "remove":
                del parent[at]
            else:
                assert op == "replace", operation
                parent[at] = copy.deepcopy(operation["value"])
        else:
            assert isinstance(parent, dict), operation
            assert op == "add" or last in parent, operation  # remove and replace need a target
            if op == "remove":
                del parent[last]
            else:
                assert op in ("add", "replace"), operation
                parent[last] = copy.deepcopy(operation["value"])
    return document


def test_the_applier_is_strict_enough_to_catch_a_wrong_patch():
    assert same(apply({"a/b": [1]}, [{"op": "add", "path": "/a~1b/-", "value": 2}]), {"a/b": [1, 2]})
    for wrong in (
        [{"op": "replace", "path": "/missing", "value": 1}],
        [{"op": "remove", "path": "/a~1b/1"}],
        [{"op": "add", "path": "/a~1b/01", "value": 1}],
        [{"op": "move", "path": "/x", "from": "/a~1b"}],
        [{"op": "remove", "path": "/a/b"}],  # not unescaped: a key "a", which is not there
    ):
        try:
            apply({"a/b": [1]}, wrong)
        except (AssertionError, KeyError, IndexError, TypeError):
            continue
        raise AssertionError(f"{wrong} applied")
    assert not same({"a": True}, {"a": Decimal(1)}) and same({"a": Decimal("1.0")}, {"a": Decimal(1)})


def test_to_defaults_to_the_current_state_and_lists_each_change(call):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"replicas": 3, "region": "eu"}), "notes")
    call("config_update", configuration["id"], "production", Json({"replicas": 4, "region": "eu"}), "notes")
    call("config_update", configuration["id"], "live", Json({"replicas": 4, "zone": "b"}))
    first, second, third = (r["revision"] for r in reversed(call("config_revisions", configuration["id"])))

    assert call("config_diff", configuration["id"], first, second) == [
        {"op": "replace", "path": "/config/replicas", "value": 4}
    ]
    # Removals first, then the keys in order (the database's collation's), depth first.
    assert call("config_diff", configuration["id"].lower(), first) == [
        {"op": "replace", "path": "/comments", "value": None},
        {"op": "remove", "path": "/config/region"},
        {"op": "replace", "path": "/config/replicas", "value": 4},
        {"op": "add", "path": "/config/zone", "value": "b"},
        {"op": "replace", "path": "/name", "value": "live"},
    ]
    assert call("config_diff", configuration["id"], first) == call("config_diff", configuration["id"], first, third)
    assert call("config_diff", configuration["id"], third) == []
    assert call("config_diff", configuration["id"], second, first) == [
        {"op": "replace", "path": "/config/replicas", "value": 3}
    ]


def test_an_applications_diff_covers_its_name_and_configuration_ids(call):
    app = call("app_create", "billing")
    created = call("app_revisions", app["id"])[0]["revision"]
    configuration = call("config_create", app["id"], "production", Json({}))
    call("app_update", app["id"], "invoicing", "moved")
    updated = call("app_revisions", app["id"])[0]["revision"]

    assert call("app_diff", app["id"], created, updated) == [
        {"op": "replace", "path": "/comments", "value": "moved"},
        {"op": "add", "path": "/configuration_ids/-", "value": configuration["id"]},
        {"op": "replace", "path": "/name", "value": "invoicing"},
    ]
    call("config_delete", configuration["id"])  # changes the application now, with no revision of its own
    assert call("app_diff", app["id"], updated) == [{"op": "remove", "path": "/configuration_ids/0"}]


def test_a_deletion_is_a_null_document_both_ways(call, rows):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({"a": 1}))
    call("config_delete", configuration["id"])
    rows(
        "INSERT INTO configurations (id, application_id, name, config) VALUES (%s, %s, 'again', '{}') RETURNING 1",
        (configuration["id"], app["id"]),
    )
    again, deleted, created = (r["revision"] for r in call("config_revisions", configuration["id"]))
    now = call("config_get", configuration["id"])

    assert call("config_diff", configuration["id"], created, deleted) == [{"op": "replace", "path": "", "value": None}]
    assert call("config_diff", configuration["id"], deleted, again) == [{"op": "replace", "path": "", "value": now}]
    assert call("config_diff", configuration["id"], deleted, deleted) == []
    call("config_delete", configuration["id"])
    assert call("config_diff", configuration["id"], again) == [{"op": "replace", "path": "", "value": None}]
    call("app_delete", app["id"])
    assert call("app_diff", app["id"], call("app_revisions", app["id"])[1]["revision"]) == [
        {"op": "replace", "path": "", "value": None}
    ]


def test_keys_with_slash_and_tilde_are_escaped(call):
    app = call("app_create", "billing")
    before = {"a/b": 1, "m~n": {"~1": 1}, "/": 1, "~": 1, "": 1}
    configuration = call("config_create", app["id"], "production", Json(before))
    first = call("config_revisions", configuration["id"])[0]["revision"]
    call("config_update", configuration["id"], "production", Json({"a/b": 2, "m~n": {"~1": 2}, "~/": 1}))

    patch = call("config_diff", configuration["id"], first)

    # The order of these keys is the database's collation's; what matters is each operation.
    assert sorted(patch, key=lambda op: op["path"]) == sorted(
        [
            {"op": "remove", "path": "/config/"},
            {"op": "remove", "path": "/config/~0"},
            {"op": "add", "path": "/config/~0~1", "value": 1},
            {"op": "remove", "path": "/config/~1"},
            {"op": "replace", "path": "/config/a~1b", "value": 2},
            {"op": "replace", "path": "/config/m~0n/~01", "value": 2},
        ],
        key=lambda op: op["path"],
    )
    assert [op["op"] for op in patch[:3]] == ["remove"] * 3  # removals first
    assert apply(call("config_revision", configuration["id"], first)["state"], patch) == call(
        "config_get", configuration["id"]
    )


def test_arrays_grow_and_shrink_at_their_end_after_changing_elements_by_index(rows):
    assert patch_between(rows, '{"xs": [1, 2]}', '{"xs": [1, 3, 4, 5]}') == [
        {"op": "replace", "path": "/xs/1", "value": 3},
        {"op": "add", "path": "/xs/-", "value": 4},
        {"op": "add", "path": "/xs/-", "value": 5},
    ]
    # From the last backwards: each index is still the element meant when its operation applies.
    assert patch_between(rows, '{"xs": [1, 2, 3, 4]}', '{"xs": [0]}') == [
        {"op": "replace", "path": "/xs/0", "value": 0},
        {"op": "remove", "path": "/xs/3"},
        {"op": "remove", "path": "/xs/2"},
        {"op": "remove", "path": "/xs/1"},
    ]
    assert patch_between(rows, "[]", "[[]]") == [{"op": "add", "path": "/-", "value": []}]
    assert patch_between(rows, "[[1]]", "[[]]") == [{"op": "remove", "path": "/0/0"}]


def test_nested_objects_are_diffed_member_by_member(rows):
    assert patch_between(
        rows, '{"a": {"b": {"c": 1, "d": 2}, "k": [{"x": 1}]}}', '{"a": {"b": {"c": 1, "e": 3}, "k": [{"x": 2}]}}'
    ) == [
        {"op": "remove", "path": "/a/b/d"},
        {"op": "add", "path": "/a/b/e", "value": 3},
        {"op": "replace", "path": "/a/k/0/x", "value": 2},
    ]


def test_a_change_of_kind_replaces_the_value(rows):
    for before, after in (
        ({"a": 1}, [1]),
        ([1], {"0": 1}),
        (1, "1"),
        (True, 1),
        (None, False),
        ("", None),
        ({}, []),
    ):
        assert patch_between(rows, dumps({"v": before}), dumps({"v": after})) == [
            {"op": "replace", "path": "/v", "value": loads(dumps(after))}
        ], (before, after)
    assert patch_between(rows, "1.0", "1.00") == []  # jsonb's equality: the same number
    assert patch_between(rows, '{"a": 1, "b": 2}', '{"b": 2, "a": 1}') == []
    assert patch_between(rows, None, "[1]") == [{"op": "replace", "path": "", "value": [1]}]
    assert patch_between(rows, "{}", None) == [{"op": "replace", "path": "", "value": None}]
    assert patch_between(rows, None, None) == []


def test_unknown_revisions_are_P0002_a_null_from_22004_and_a_bad_id_22P02(call, sqlstate):
    app = call("app_create", "billing")
    configuration = call("config_create", app["id"], "production", Json({}))
    mine = call("config_revisions", configuration["id"])[0]["revision"]
    theirs = call("app_revisions", app["id"])[0]["revision"]

    assert sqlstate("config_diff", configuration["id"], theirs) == "P0002"  # another resource's revision
    assert sqlstate("config_diff", configuration["id"], mine, mine + 10**6) == "P0002"
    assert sqlstate("app_diff", app["id"], mine) == "P0002"
    assert sqlstate("app_diff", str(ULID()), theirs) == "P0002"
    assert sqlstate("config_diff", configuration["id"], None) == "22004"
    assert sqlstate("app_diff", "nope", theirs) == "22P02"


# The property: many random pairs.

KEYS = ["a", "b", "c", "", "/", "~", "~1", "~0", "a/b", "m~n", "0", "-", "ü", " "]


def scalar(rng: random.Random):
    return rng.choice(
        [
            None,
            True,
            False,
            Decimal(rng.randint(-3, 3)),
            Decimal(rng.choice(["0.5", "1.50", "-2.25", "1e-7", "12345678901234567890.1"])),
            rng.choice(KEYS),
            "ž" * rng.randint(0, 3),
        ]
    )


def document(rng: random.Random, depth: int = 0):
    kind = rng.choice(["scalar", "object", "array"] if depth < 4 else ["scalar"])
    if kind == "object":
        return {rng.choice(KEYS): document(rng, depth + 1) for _ in range(rng.randint(0, 4))}
    if kind == "array":
        return [document(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return scalar(rng)


def mutated(rng: random.Random, value, depth: int = 0):
    """`value` changed here and there, as documents change between revisions: most of it the same."""
    roll = rng.random()
    if roll < 0.15:
        return document(rng, depth)  # replaced, maybe by another kind
    if isinstance(value, dict):
        value = {k: mutated(rng, v, depth + 1) if rng.random() < 0.5 else v for k, v in value.items()}
        for _ in range(rng.randint(0, 2)):
            if value and rng.random() < 0.5:
                del value[rng.choice(list(value))]
            else:
                value[rng.choice(KEYS)] = document(rng, depth + 1)
        return value
    if isinstance(value, list):
        value = [mutated(rng, v, depth + 1) if rng.random() < 0.4 else v for v in value]
        if rng.random() < 0.4:
            del value[rng.randint(0, len(value)) :]
        if rng.random() < 0.4:
            value += [document(rng, depth + 1) for _ in range(rng.randint(1, 3))]
        return value
    return scalar(rng) if roll < 0.5 else value


def test_the_patch_between_any_two_documents_turns_the_first_into_the_second(rows):
    rng = random.Random(20261203)
    pairs = []
    for _ in range(400):
        a = document(rng)
        pairs.append((a, mutated(rng, a)))
    pairs += [(document(rng), document(rng)) for _ in range(100)]
    pairs += [({"config": document(rng)}, None), (None, {"config": document(rng)})]
    changed = 0

    for a, b in pairs:
        text_a, text_b = (None if d is None else dumps(d) for d in (a, b))
        # jsonb's view of each (duplicate keys merged, numbers as it keeps them)
        a, b = (None if t is None else loads(rows("SELECT %s::jsonb::text", (t,))[0][0]) for t in (text_a, text_b))
        patch = patch_between(rows, text_a, text_b)

        assert same(apply(a, patch), b), (a, b, patch)
        assert (patch == []) == same(a, b), (a, b, patch)
        assert patch_between(rows, text_a, text_a) == []
        changed += patch != []
    assert changed > 300  # the pairs did differ, mostly


def test_a_value_nested_beyond_100_levels_is_replaced_whole_not_a_stack_overflow(rows):
    def nested(leaf: int, levels: int = 400):
        value = {"leaf": leaf}
        for _ in range(levels):
            value = {"a": value}
        return value

    a, b = nested(1), nested(2)
    patch = patch_between(rows, dumps(a), dumps(b))

    assert patch == [{"op": "replace", "path": "/a" * 100, "value": nested(2, 300)}]
    assert same(apply(loads(dumps(a)), patch), loads(dumps(b)))

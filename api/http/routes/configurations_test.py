import json
from decimal import Decimal

import psycopg2
import pytest
from ulid import ULID

URL = "/api/v1/configurations"


@pytest.fixture
def app_id(client) -> str:
    return client.post("/api/v1/applications", json={"name": "billing"}).json()["id"]


def create(client, app_id: str, name: str = "production", config: dict | None = None, **extra) -> dict:
    body = {"application_id": app_id, "name": name, "config": config if config is not None else {"replicas": 3}}
    response = client.post(URL, json=body | extra)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_is_201_with_location_and_stores_the_row(client, app_id, rows):
    config = {"replicas": 3, "nested": {"list": [1, 2.5, None, True], "text": "ünïcode"}}
    response = client.post(URL, json={"application_id": app_id.lower(), "name": "production", "config": config})

    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "application_id": app_id,
        "name": "production",
        "comments": None,
        "config": config,
    }
    assert response.headers["location"] == f"{URL}/{body['id']}"
    assert rows("SELECT id, application_id, name, config FROM configurations") == [
        (body["id"], app_id, "production", config)
    ]


def test_create_for_an_unknown_application_is_400_and_stores_nothing(client, problem, rows):
    body = problem(client.post(URL, json={"application_id": str(ULID()), "name": "p", "config": {}}), 400, "23503")

    assert "does not exist" in body["detail"]
    assert rows("SELECT count(*) FROM configurations") == [(0,)]


def test_create_duplicate_name_in_the_application_is_409(client, problem, app_id, rows):
    create(client, app_id)

    problem(client.post(URL, json={"application_id": app_id, "name": "production", "config": {}}), 409, "23505")
    assert rows("SELECT count(*) FROM configurations") == [(1,)]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"config": [1, 2]}, "config"),
        ({"config": "text"}, "config"),
        ({"config": None}, "config"),
        ({"name": ""}, "name"),
        ({"name": "n" * 257}, "name"),
        ({"comments": "c" * 1025}, "comments"),
        ({"application_id": "nope"}, "application_id"),
        ({"application_id": -1426}, "application_id"),
        ({"application_id": 12345678901234567890}, "application_id"),
        ({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV"}, "id"),
    ],
)
def test_create_invalid_body_is_400_and_stores_nothing(client, problem, app_id, rows, change, field):
    payload = {"application_id": app_id, "name": "production", "config": {}} | change

    body = problem(client.post(URL, json=payload), 400)

    assert ["body", field] in [error["loc"] for error in body["errors"]]
    assert rows("SELECT count(*) FROM configurations") == [(0,)]


def test_create_without_config_is_400(client, problem, app_id):
    problem(client.post(URL, json={"application_id": app_id, "name": "p"}), 400)


def test_get_returns_the_configuration(client, app_id):
    created = create(client, app_id, comments="notes")

    response = client.get(f"{URL}/{created['id'].lower()}")

    assert response.status_code == 200
    assert response.json() == created


def test_get_unknown_is_404_and_malformed_is_400(client, problem):
    problem(client.get(f"{URL}/{ULID()}"), 404, "P0002")
    problem(client.get(f"{URL}/nope"), 400)


def test_put_replaces_everything_but_the_application(client, app_id, rows):
    created = create(client, app_id, comments="notes")

    response = client.put(f"{URL}/{created['id']}", json={"name": "prod", "config": {"replicas": 5}})

    assert response.status_code == 200
    assert response.json() == {**created, "name": "prod", "comments": None, "config": {"replicas": 5}}
    assert rows("SELECT name, comments, config FROM configurations") == [("prod", None, {"replicas": 5})]


def test_put_may_confirm_the_current_application_in_any_case(client, app_id):
    created = create(client, app_id)

    response = client.put(
        f"{URL}/{created['id']}", json={"application_id": app_id.lower(), "name": "prod", "config": {}}
    )

    assert response.status_code == 200
    assert response.json()["application_id"] == app_id


def test_put_with_another_application_is_400_saying_so_and_changes_nothing(client, problem, app_id, rows):
    created = create(client, app_id)
    other = client.post("/api/v1/applications", json={"name": "other"}).json()["id"]

    body = problem(
        client.put(f"{URL}/{created['id']}", json={"application_id": other, "name": "prod", "config": {}}),
        400,
        "22023",
    )

    assert "cannot move" in body["detail"]
    assert rows("SELECT application_id, name FROM configurations") == [(app_id, "production")]


def test_put_to_a_sibling_name_is_409(client, problem, app_id):
    create(client, app_id, "production")
    staging = create(client, app_id, "staging")

    problem(client.put(f"{URL}/{staging['id']}", json={"name": "production", "config": {}}), 409, "23505")


def test_put_unknown_is_404(client, problem):
    problem(client.put(f"{URL}/{ULID()}", json={"name": "p", "config": {}}), 404, "P0002")


def test_put_invalid_is_400(client, problem, app_id):
    created = create(client, app_id)

    problem(client.put(f"{URL}/{created['id']}", json={"name": "p"}), 400)
    problem(client.put(f"{URL}/{created['id']}", json={"name": "p", "config": [1]}), 400)
    problem(client.put(f"{URL}/{created['id']}", json={"name": "p", "config": {}, "extra": 1}), 400)


# Numbers as a client may write them; jsonb keeps each exactly (as numeric), as psql shows.
EXACT_NUMBERS = [
    "0.30000000000000000001",
    "1e2",
    "1E+2",
    "-1.5e-10",
    "2.50",
    "-0",
    "123456789012345678901234567890",
    "9" * 300,  # far past a double's precision
    "1e308",  # 309 digits once written out
    "-1e-300",
    "0e-20",  # zero, with its scale kept
    "3.141592653589793238462643383279502884197",
]


@pytest.mark.parametrize("number", EXACT_NUMBERS)
def test_numbers_are_stored_as_psql_stores_the_same_json(client, app_id, rows, number):
    document = f'{{"k": {number}, "list": [{number}, {{"n": {number}}}]}}'
    body = f'{{"application_id": "{app_id}", "name": "n", "config": {document}}}'

    created = client.post(URL, content=body, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    [(stored, from_psql)] = rows("SELECT config::text, %s::jsonb::text FROM configurations", (document,))
    assert stored == from_psql
    exact = json.loads(from_psql, parse_float=Decimal, parse_int=Decimal)
    assert exact["k"] == Decimal(number)
    assert created.json(parse_float=Decimal, parse_int=Decimal)["config"] == exact
    got = client.get(created.headers["location"])
    assert got.json(parse_float=Decimal, parse_int=Decimal)["config"] == exact


def test_replacing_keeps_numbers_exact_too(client, app_id, rows):
    configuration = create(client, app_id)
    body = '{"name": "production", "config": {"ratio": 0.30000000000000000001, "big": 12345678901234567890123}}'

    response = client.put(f"{URL}/{configuration['id']}", content=body, headers={"Content-Type": "application/json"})

    assert response.status_code == 200, response.text
    assert rows("SELECT config::text FROM configurations") == [
        ('{"big": 12345678901234567890123, "ratio": 0.30000000000000000001}',)
    ]


def test_a_config_over_1_mib_once_stored_is_413_and_nothing_is_stored(client, app_id, problem, rows):
    # 70 KB of 1e308s: jsonb writes each as 309 digits, 3 MB in all.
    config = "{" + ", ".join(f'"k{i}": 1e308' for i in range(5400)) + "}"
    body = f'{{"application_id": "{app_id}", "name": "n", "config": {config}}}'

    assert len(body) < 90_000
    # Refused before the database is asked to write out 1.7 MB of digits (which it refuses too: 54000).
    problem(client.post(URL, content=body, headers={"Content-Type": "application/json"}), 413)
    assert rows("SELECT count(*) FROM configurations") == [(0,)]


@pytest.mark.parametrize("number", ["1e309", "-1e131071", "1e-310", "0e-500", "9" * 401, "1." + "1" * 399])
def test_numbers_jsonb_would_write_out_beyond_400_characters_are_400_as_in_psql(client, app_id, rows, problem, number):
    document = f'{{"k": {number}}}'
    body = f'{{"application_id": "{app_id}", "name": "n", "config": {document}}}'

    problem(client.post(URL, content=body, headers={"Content-Type": "application/json"}), 400)
    assert rows("SELECT count(*) FROM configurations") == [(0,)]
    with pytest.raises(psycopg2.Error) as failure:
        rows("SELECT app_private.config_check(%s)", (document,))
    assert failure.value.pgcode == "22003"


def test_the_limit_the_schema_documents_is_the_one_the_database_enforces(rows):
    from api.schema.models import MAX_CONFIG_STORED_BYTES

    def stored(size: int) -> str:
        return '{"k": "%s"}' % ("x" * (size - 9))

    assert rows("SELECT app_private.config_check(%s) IS NOT NULL", (stored(MAX_CONFIG_STORED_BYTES),)) == [(True,)]
    with pytest.raises(psycopg2.Error) as failure:
        rows("SELECT app_private.config_check(%s)", (stored(MAX_CONFIG_STORED_BYTES + 1),))
    assert failure.value.pgcode == "54000"

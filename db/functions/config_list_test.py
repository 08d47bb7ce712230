from psycopg2.extras import Json
from ulid import ULID


def test_lists_the_applications_configurations_whole_by_id_and_pages_by_keyset(call):
    app = call("app_create", "billing")
    other = call("app_create", "payroll")
    # Ids made by ulid_generate() order only to the millisecond: list them in id order.
    made = sorted((call("config_create", app["id"], f"c{n}", Json({"n": n})) for n in range(5)), key=lambda c: c["id"])
    call("config_create", other["id"], "c0", Json({}))

    assert call("config_list", app["id"]) == made
    assert call("config_list", app["id"], made[1]["id"], 2) == made[2:4]
    assert call("config_list", app["id"], None, None, made[3]["name"]) == [made[3]]


def test_the_page_function_gives_the_array_and_its_last_id(db, call):
    app = call("app_create", "billing")
    made = sorted(
        (call("config_create", app["id"], f"c{n}", Json({"id": "not this one"})) for n in range(3)),
        key=lambda c: c["id"],
    )
    with db.cursor() as cur:
        cur.execute("SELECT page::text, last_id FROM config_list_page(%s, NULL, 2)", (app["id"],))
        page, last_id = cur.fetchone()
        cur.execute("SELECT page::text, last_id FROM config_list_page(%s, %s, 2)", (app["id"], made[2]["id"]))
        empty = cur.fetchone()

    assert last_id == made[1]["id"] and page.count('"application_id"') == 2
    assert empty == ("[]", None)


def test_an_unknown_application_is_P0002_and_bad_arguments_are_data_exceptions(sqlstate, call):
    app = call("app_create", "billing")

    assert sqlstate("config_list", str(ULID())) == "P0002"
    assert sqlstate("config_list", "nope") == "22P02"
    assert sqlstate("config_list", app["id"], None, 0) == "22023"


def test_a_byte_budget_stops_the_list_at_the_row_that_reaches_it(call):
    app = call("app_create", "billing")
    made = sorted((call("config_create", app["id"], f"c{n}", Json({"x": "y" * 1000})) for n in range(5)),
                  key=lambda c: c["id"])  # fmt: skip
    one = len(call("config_list", app["id"], None, 1)[0]["config"]["x"])  # about 1,100 bytes as text each

    assert [c["id"] for c in call("config_list", app["id"], None, None, None, 2500)] == [c["id"] for c in made[:3]]
    assert [c["id"] for c in call("config_list", app["id"], None, None, None, 1)] == [made[0]["id"]]  # one, always
    assert [c["id"] for c in call("config_list", app["id"], None, 2, None, 10**6)] == [c["id"] for c in made[:2]]
    assert one == 1000

def test_lists_every_application_by_id(call):
    created = [call("app_create", f"app-{n}", None if n % 2 else "c") for n in range(5)]

    listed = call("app_list")

    expected = [{"id": a["id"], "name": a["name"], "comments": a["comments"]} for a in created]
    assert listed == sorted(expected, key=lambda a: a["id"])


def test_keyset_pages_cover_everything_once(call):
    ids = sorted(call("app_create", f"app-{n}")["id"] for n in range(7))

    seen, after = [], None
    while page := call("app_list", after, 3):
        seen += [a["id"] for a in page]
        after = page[-1]["id"].lower()  # any case works

    assert seen == ids


def test_empty_table_lists_nothing(call):
    assert call("app_list") == []


def test_bad_arguments_are_data_exceptions(sqlstate):
    assert sqlstate("app_list", None, 0) == "22023"
    assert sqlstate("app_list", "nope", 10) == "22P02"


def test_rows_are_written_exactly_as_jsonb_writes_them(call, db):
    for name, comments in [('quo"te \\ back', None), ("tab\tnew\nline \u00e9 \u540d \x01", "c")]:
        call("app_create", name, comments)
    with db.cursor() as cur:
        cur.execute(
            "SELECT l::text, jsonb_build_object('id', a.id, 'name', a.name, 'comments', a.comments)::text"
            "  FROM app_list() AS l JOIN applications a ON a.id = l ->> 'id'"
        )
        pairs = cur.fetchall()

    assert len(pairs) == 2 and all(listed == as_jsonb for listed, as_jsonb in pairs)

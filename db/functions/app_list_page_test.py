def test_a_page_is_app_list_as_one_array(call):
    ids = sorted(call("app_create", f"app-{n}")["id"] for n in range(5))

    assert [a["id"] for a in call("app_list_page", None, 3)] == ids[:3]
    assert [a["id"] for a in call("app_list_page", ids[2].lower(), 3)] == ids[3:]
    assert call("app_list_page", ids[-1], 3) == []
    assert [a["id"] for a in call("app_list_page")] == ids


def test_an_empty_table_is_an_empty_array(call):
    assert call("app_list_page") == []


def test_bad_arguments_raise_as_app_list_does(sqlstate):
    assert sqlstate("app_list_page", None, 0) == "22023"
    assert sqlstate("app_list_page", "nope", 10) == "22P02"


def test_a_byte_budget_stops_the_page_at_the_row_that_reaches_it(call):
    ids = sorted(call("app_create", f"app-{n}", "c" * 500)["id"] for n in range(5))  # about 570 bytes each

    assert [a["id"] for a in call("app_list_page", None, None, None, 1200)] == ids[:3]
    assert [a["id"] for a in call("app_list_page", None, None, None, 1)] == ids[:1]  # one, always
    assert [a["id"] for a in call("app_list_page", ids[0], 10, None, 10**6)] == ids[1:]

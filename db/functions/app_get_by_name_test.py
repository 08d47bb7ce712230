def test_returns_the_application_as_app_get_does(call):
    app = call("app_create", "billing/eu west", "notes")

    assert call("app_get_by_name", "billing/eu west") == call("app_get", app["id"])


def test_names_are_exact_and_a_missing_one_is_P0002(call, sqlstate):
    call("app_create", "billing")

    assert sqlstate("app_get_by_name", "Billing") == "P0002"
    assert sqlstate("app_get_by_name", "billing ") == "P0002"

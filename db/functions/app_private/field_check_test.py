def test_values_that_fit_come_back_unchanged(call):
    assert call("app_private.field_check", "name", "é" * 256, 256, True) == "é" * 256
    assert call("app_private.field_check", "comments", None, 1024, False) is None
    assert call("app_private.field_check", "comments", "", 1024, False) == ""


def test_null_required_is_22004(sqlstate):
    assert sqlstate("app_private.field_check", "name", None, 256, True) == "22004"


def test_empty_required_is_22023(sqlstate):
    assert sqlstate("app_private.field_check", "name", "", 256, True) == "22023"


def test_too_long_counts_characters_and_is_22001(sqlstate):
    assert sqlstate("app_private.field_check", "name", "x" * 257, 256, True) == "22001"
    assert sqlstate("app_private.field_check", "comments", "x" * 1025, 1024, False) == "22001"

import pytest

ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


def test_any_case_becomes_uppercase(call):
    assert call("app_private.ulid_normalize", ID.lower()) == ID
    assert call("app_private.ulid_normalize", ID) == ID


@pytest.mark.parametrize(
    "bad", ["", "nope", ID[:-1], ID + "0", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAU", " " + ID[1:]]
)
def test_malformed_ids_are_22P02(sqlstate, bad):
    assert sqlstate("app_private.ulid_normalize", bad) == "22P02"


def test_null_is_22004(sqlstate):
    assert sqlstate("app_private.ulid_normalize", None) == "22004"

import pytest
from psycopg2.extras import Json


def test_objects_pass(call):
    assert call("config_check", Json({"a": [1, {"b": None}]})) == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("not_an_object", [[1, 2], "text", 3, True, None])
def test_other_json_types_are_22023(sqlstate, not_an_object):
    assert sqlstate("config_check", Json(not_an_object)) == "22023"


def test_sql_null_is_22004(sqlstate):
    assert sqlstate("config_check", None) == "22004"

import pytest
from psycopg2.extras import Json


def test_objects_pass(call):
    assert call("app_private.config_check", Json({"a": [1, {"b": None}]})) == {"a": [1, {"b": None}]}


@pytest.mark.parametrize("not_an_object", [[1, 2], "text", 3, True, None])
def test_other_json_types_are_22023(sqlstate, not_an_object):
    assert sqlstate("app_private.config_check", Json(not_an_object)) == "22023"


def test_sql_null_is_22004(sqlstate):
    assert sqlstate("app_private.config_check", None) == "22004"


LIMIT = 1_048_576  # 1 MiB, as the function's comment and db/README.md say


def _of_text_size(size: int) -> str:
    # '{"k": "' and '"}' around the string: 9 bytes, jsonb's own spacing included.
    return '{"k": "%s"}' % ("x" * (size - 9))


def test_a_config_of_exactly_the_limit_as_text_passes(call):
    assert len(call("app_private.config_check", _of_text_size(LIMIT))["k"]) == LIMIT - 9


def test_one_byte_more_is_54000(sqlstate):
    assert sqlstate("app_private.config_check", _of_text_size(LIMIT + 1)) == "54000"


def test_numbers_count_as_the_digits_jsonb_writes(sqlstate):
    # 5,000 short 1e308s (70 KB of input) are 1.6 MB of digits once stored.
    document = "{" + ", ".join(f'"k{i}": 1e308' for i in range(5000)) + "}"

    assert len(document) < 80_000
    assert sqlstate("app_private.config_check", document) == "54000"

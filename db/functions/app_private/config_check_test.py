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


def test_every_json_type_inside_passes_and_only_numbers_are_measured(call):
    document = {"s": "0e-9999 as text is only text", "b": [True, False, None, {"o": []}], "n": -1.5}

    assert call("app_private.config_check", Json(document)) == document


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("0e-398", None),  # "0." and 398 zeros: 400 characters
        ("0e-399", "22003"),
        ("-1." + "1" * 397, None),  # 400 characters with its sign
        ("-1." + "1" * 398, "22003"),
        ("9" * 308 + "." + "9" * 91, None),  # the longest integer part a number may have, then its scale
        ("9" * 308 + "." + "9" * 92, "22003"),
    ],
)
def test_a_number_is_measured_as_written_out_without_writing_it(call, sqlstate, number, expected):
    document = f'{{"n": {number}}}'
    if expected is None:
        assert call("app_private.config_check", document) is not None
    else:
        assert sqlstate("app_private.config_check", document) == expected

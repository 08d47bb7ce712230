import pytest

from api.etags import etag

DOCUMENT = '{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "ünïcode"}'


def test_the_sql_etag_is_the_one_the_api_computes_from_the_same_text(rows):
    assert rows("SELECT app_private.etag(%s::json)", (DOCUMENT,)) == [(etag(DOCUMENT),)]


@pytest.mark.parametrize("if_match", [None, "*", " * ", etag(DOCUMENT), f'"other", {etag(DOCUMENT)}'])
def test_matching_conditions_pass(call, if_match):
    assert call("app_private.if_match", if_match, DOCUMENT, "it") == ""


@pytest.mark.parametrize("if_match", ['"other"', f"W/{etag(DOCUMENT)}", etag(DOCUMENT).strip('"'), ""])
def test_others_are_PT412_weak_tags_included(sqlstate, if_match):
    assert sqlstate("app_private.if_match", if_match, DOCUMENT, "it") == "PT412"

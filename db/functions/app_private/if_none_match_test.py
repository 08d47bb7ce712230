import pytest

from api.etags import etag

DOCUMENT = '{"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "ünïcode"}'


@pytest.mark.parametrize("if_none_match", [None, '"other"', '"a", W/"b"', etag(DOCUMENT).strip('"')])
def test_tags_that_do_not_match_pass(call, if_none_match):
    assert call("app_private.if_none_match", if_none_match, DOCUMENT, "it") == ""


@pytest.mark.parametrize(
    "if_none_match", ["*", " * ", etag(DOCUMENT), f"W/{etag(DOCUMENT)}", f'"other" , {etag(DOCUMENT)}']
)
def test_a_match_weak_or_strong_or_star_is_PT412(sqlstate, if_none_match):
    assert sqlstate("app_private.if_none_match", if_none_match, DOCUMENT, "it") == "PT412"

"""/metrics compresses only for a client that takes gzip, as Accept-Encoding weighs it."""

import pytest

from api.http.routes.scrape import gzip_accepted


@pytest.mark.parametrize(
    ("accept_encoding", "zipped"),
    [
        ("gzip", True),
        ("GZIP;Q=0.5", True),
        ("deflate, gzip;q=0.1", True),
        ("*", True),
        ("*;q=0, gzip", True),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("gzip;q=0, *", False),  # gzip refused by name, whatever * says
        ("deflate, br", False),
        ("", False),
        ("gzip;q=x", False),
    ],
)
def test_gzip_is_taken_only_with_a_weight_above_zero(accept_encoding, zipped):
    assert gzip_accepted(accept_encoding) is zipped


def test_a_scrape_refusing_gzip_is_sent_plain(client):
    refused = client.get("/metrics", headers={"Accept-Encoding": "gzip;q=0"})
    asked = client.get("/metrics", headers={"Accept-Encoding": "gzip"})

    assert refused.status_code == 200 and "content-encoding" not in refused.headers
    assert refused.content.startswith(b"# HELP") or b"appconfig_" in refused.content[:200]
    assert asked.headers["content-encoding"] == "gzip"

"""JSON numbers kept exactly as the client wrote them, on their way to jsonb.

The stdlib parser turns every number with a fraction or an exponent into a float,
so `0.30000000000000000001` reached PostgreSQL as `0.3` and `1e2` as `100.0`, while
psql, which hands jsonb the text, keeps them exact (jsonb's numbers are `numeric`).
Routes whose bodies carry a `config` therefore parse (api.http.routing.ExactJsonRoute) with every number a `Decimal`
(integers too: an int longer than 4,300 digits is refused by Python's parser, not
by jsonb), and `dumps()` writes those Decimals back as the same numbers.
"""

import json
from decimal import Decimal
from typing import Any

import simplejson


def loads(body: bytes | str) -> Any:
    """JSON with every number a `Decimal` (NaN and Infinity stay floats, for the validators to refuse)."""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal)


def stored_length(number: Decimal) -> int:
    """How many characters jsonb writes for `number`: numeric's plain notation, every digit out."""
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int), "finite numbers only"
    if not any(digits):
        return 1 if exponent >= 0 else 2 - exponent  # 0, or 0.000... with the scale kept
    if exponent >= 0:
        return sign + len(digits) + exponent
    return sign + max(len(digits) + exponent, 1) + 1 - exponent


def numbers_length(value: Any) -> int:
    """The characters jsonb writes for all the numbers in `value` (the rest it writes about as sent)."""
    total, pending = 0, [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, Decimal):
            total += stored_length(item)
    return total


def dumps(value: Any) -> str:
    """JSON text for jsonb: Decimals written as the numbers they hold, text as UTF-8, no NaN."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, allow_nan=False)

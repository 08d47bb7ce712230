"""JSON numbers kept exactly as the client wrote them, on their way to jsonb.

The stdlib parser turns every number with a fraction or an exponent into a float,
so `0.30000000000000000001` reached PostgreSQL as `0.3` and `1e2` as `100.0`, while
psql, which hands jsonb the text, keeps them exact (jsonb's numbers are `numeric`).
Routes whose bodies carry a `config` therefore parse with every number a `Decimal`
(integers too: an int longer than 4,300 digits is refused by Python's parser, not
by jsonb), and `dumps()` writes those Decimals back as the same numbers.
"""

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import simplejson
from fastapi import Request, Response
from fastapi.routing import APIRoute


def loads(body: bytes | str) -> Any:
    """JSON with every number a `Decimal` (NaN and Infinity stay floats, for the validators to refuse)."""
    return json.loads(body, parse_float=Decimal, parse_int=Decimal)


def dumps(value: Any) -> str:
    """JSON text for jsonb: Decimals written as the numbers they hold, text as UTF-8, no NaN."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, allow_nan=False)


class _ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


class ExactJsonRoute(APIRoute):
    """An `APIRoute` whose JSON body is read by `loads()` (FastAPI's documented custom-request pattern)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def exact_json_handler(request: Request) -> Response:
            return await handler(_ExactJsonRequest(request.scope, request.receive))

        return exact_json_handler

"""Entity tags and conditional requests (RFC 9110 §8.8.3, §13).

A resource's ETag is the hash of the JSON text its function returns, the same hash
app_private.etag() computes in SQL over the same text: equal content gives an equal
tag in every process and after restarts, and the functions compare an If-Match tag
with the current one under the row lock (SQLSTATE PT412 when it differs).
"""

import hashlib
from dataclasses import dataclass


def etag(body: str) -> str:
    """The strong ETag of a resource's JSON text, quotes included."""
    return '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'


def none_match(if_none_match: str | None, current: str) -> bool:
    """Whether If-None-Match matches `current` (weak comparison, `*` or a list): a GET answers 304."""
    if if_none_match is None:
        return False
    if if_none_match == current:  # what a client revalidating sends: the one tag it was given
        return True
    if if_none_match.strip() == "*":
        return True
    opaque = current.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == opaque for tag in if_none_match.split(","))


@dataclass(frozen=True, slots=True)
class Current:
    """A resource as one read found it, ready to send to any number of waiters; or, with `body`
    None, only its ETag: the database said it is still the version the client's If-None-Match
    names, which is all a 304 needs."""

    body: bytes | None
    etag: str

    @classmethod
    def of(cls, text: str) -> "Current":
        return cls(text.encode(), etag(text))

    def matches(self, if_none_match: str | None) -> bool:
        """Whether If-None-Match matches it: the client's copy is current (a 304)."""
        return none_match(if_none_match, self.etag)

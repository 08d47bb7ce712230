"""New ids: ULIDs that increase strictly within this process.

A plain ULID orders by creation time only to the millisecond; two made in the
same millisecond fall in random order. Here a new id that would not sort after
the previous one is the previous one plus one, so ids made by this process sort
exactly in creation order (the order `configuration_ids` promises).
"""

import os
import threading
import time

from ulid import ULID

_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A new ULID, in canonical uppercase, greater than every id this process made before."""
    global _last
    milliseconds = time.time_ns() // 1_000_000
    randomness = os.urandom(10)
    with _lock:
        _last = max(milliseconds << 80 | int.from_bytes(randomness), _last + 1)
        value = _last
    return str(ULID.from_int(value))

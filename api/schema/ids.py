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
# Random bytes drawn from the OS 256 ids at a time: a system call per id cost more than the
# rest of a POST's work in the event loop (12 µs under load, measured).
_RANDOM_BATCH = 10 * 256
_random = b""


def _forget_random() -> None:
    global _random
    _random = b""


os.register_at_fork(after_in_child=_forget_random)  # a forked process must not repeat its parent's


def new_id() -> str:
    """A new ULID, in canonical uppercase, greater than every id this process made before."""
    global _last, _random
    milliseconds = time.time_ns() // 1_000_000
    with _lock:
        if not _random:
            _random = os.urandom(_RANDOM_BATCH)
        randomness, _random = _random[:10], _random[10:]
        _last = max(milliseconds << 80 | int.from_bytes(randomness), _last + 1)
        value = _last
    return str(ULID.from_int(value))

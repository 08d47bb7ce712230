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
# Random bytes drawn from the OS 256 ids at a time, rather than a system call per id (what that
# buys: docs/performance.md, batched_ids).
_RANDOM_BATCH = 10 * 256
_random = b""
_batch = _RANDOM_BATCH


def draw_in_batches(on: bool) -> None:
    """Whether random bytes are drawn in batches (off only to measure: SPEED_TRICKS_OFF=batched_ids)."""
    global _batch, _random
    _batch, _random = (_RANDOM_BATCH if on else 10), b""


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
            _random = os.urandom(_batch)
        randomness, _random = _random[:10], _random[10:]
        _last = max(milliseconds << 80 | int.from_bytes(randomness), _last + 1)
        value = _last
    return str(ULID.from_int(value))

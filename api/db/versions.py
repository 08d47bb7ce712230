"""Which version of each configuration this process last read, so that a revalidating read (a GET
with If-None-Match, a long-poll) can ask the database whether the row changed rather than fetch it.

For each read (a configuration by id, or by names) the gateway keeps the ETag of the document it
last received and the row's version (db/functions/app_private/row_version.sql): the full id of
the transaction that wrote the row. `config_get_if_modified` answers "unchanged" without
building the document when the row is still that version, which is exact whoever wrote since.

A version is a transaction id, and ids are reused when a database's history goes back (a restore,
a failover that lost commits). Each of these breaks every connection, so an entry is kept only
while no pool has opened a connection since the read that made it began (`epoch`). A version
vouches for a row, not for the document a function builds of it: when a migration may have changed
that, every entry is forgotten (`forget`), and while one would go unheard none is kept (`pause`).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from api.etags import none_match

# Entries kept: the oldest goes first. An entry is a few hundred bytes, and a miss costs one full read.
MAX_ENTRIES = 65_536


@dataclass(frozen=True, slots=True)
class Known:
    """A document this process read: its ETag and the row version it came from."""

    etag: str
    version: int
    epoch: int


class Versions:
    """The versions of the documents read last, by read, each kept only in the epoch of its read."""

    def __init__(self, connections_opened: Callable[[], int], max_entries: int = MAX_ENTRIES) -> None:
        self._connections_opened = connections_opened
        self.forgotten = 0  # times every entry was forgotten
        self.paused = False  # keeping none until the next `forget`
        self._known: dict[Hashable, Known] = {}
        self._max_entries = max_entries

    def epoch(self) -> int:
        """Connections the pools have opened, and times every entry was forgotten: both only grow, so
        a read begun before either happened again is in an older epoch."""
        return self._connections_opened() + self.forgotten

    def forget(self) -> None:
        """Forget every entry, and what reads begun before now would remember: the documents the
        functions build may have changed while their rows did not (a migration). Entries are kept
        again from now on."""
        self.forgotten += 1
        self._known.clear()
        self.paused = False

    def pause(self) -> None:
        """Forget every entry and keep none until `forget`: a migration would now go unheard."""
        self.forget()
        self.paused = True

    def __len__(self) -> int:
        return len(self._known)

    def matching(self, read: Hashable, if_none_match: str | None) -> Known | None:
        """What this process knows of `read` when If-None-Match names that document, else None."""
        if if_none_match is None or self.paused:
            return None
        known = self._known.get(read)
        if known is None or known.epoch != self.epoch() or not none_match(if_none_match, known.etag):
            return None
        return known

    def remember(self, read: Hashable, etag: str, version: int | None, epoch: int) -> None:
        """`read` found the document tagged `etag` in row version `version` (None: not yet
        known), in a read begun at `epoch`."""
        if version is None or epoch != self.epoch() or self.paused:
            self._known.pop(read, None)
            return
        self._known.pop(read, None)  # re-inserted last: the newest stays longest
        if len(self._known) >= self._max_entries:
            del self._known[next(iter(self._known))]
        self._known[read] = Known(etag, version, epoch)

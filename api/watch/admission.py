"""How many watchers (held long-polls and open event streams) a process takes, in all and from
one client address, so that no client can hold every socket the process may open.

Each watcher holds a socket until its change comes: without a bound, one client opening streams
by the hundred ran the process out of descriptors, and health checks and ordinary requests were
reset. Past a bound a new watcher is refused with 503 and Retry-After; what it would have held
stays free for everyone else (the composition root derives the total from the open-files limit).
"""

from collections import Counter
from collections.abc import Callable

from api.schema.errors import ServiceUnavailable

# Seconds a refused watcher is asked to wait: a herd that all retried at once would be refused again.
RETRY_AFTER_SECONDS = 5


class Full(ServiceUnavailable):
    """This server holds as many watchers as it may; try again shortly."""

    retry_after_seconds = RETRY_AFTER_SECONDS

    @property
    def headers(self) -> dict[str, str]:
        # The connection is closed too: refused clients that kept theirs open would hold, between
        # them, the descriptors the bound keeps free.
        return super().headers | {"Connection": "close"}


class Admission:
    """At most `total` watchers, and `per_client` of them from one client address."""

    def __init__(self, total: int, per_client: int, refused: Callable[[], None] = lambda: None) -> None:
        self.total, self.per_client = total, per_client
        self.held = 0
        self._by_client: Counter[str] = Counter()
        self._refused = refused  # told of each refusal (the metrics)

    def take(self, client: str) -> None:
        """Admit one more watcher from `client`, or raise `Full` (a 503 with Retry-After)."""
        if self.held >= self.total:
            self._refused()
            raise Full(f"This server already holds {self.total} watchers, as many as it may; try again shortly.")
        if self._by_client[client] >= self.per_client:
            self._refused()
            raise Full(f"This client already holds {self.per_client} watchers, as many as one client may.")
        self.held += 1
        self._by_client[client] += 1

    def give_back(self, client: str) -> None:
        self.held -= 1
        self._by_client[client] -= 1
        if not self._by_client[client]:
            del self._by_client[client]

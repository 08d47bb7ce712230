"""Pruning the revisions past retention, in the background: `revisions_prune()` every so often.

Each API process runs a `Pruner`; the function lets one call at a time work (the others return at
once), and each call looks only at the revisions that came of age since the last, so the pruning
costs no write anything and never scans the table (db/README.md, Revisions).
"""

import asyncio
import logging
import random

from api.db.gateway import Store
from api.schema.errors import ApiError

log = logging.getLogger(__name__)

# Revisions one call looks at: a few hundred milliseconds of work at most.
BATCH = 10_000


class Pruner:
    """Calls `revisions_prune(keep, max_age)` every `every_seconds`, until it has caught up."""

    def __init__(self, store: Store, keep: int, max_age_seconds: float, every_seconds: float) -> None:
        self._store, self._keep, self._max_age, self._every = store, keep, max_age_seconds, every_seconds
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self._every > 0:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="revisions-pruner")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            # Spread out, so that the processes started together do not all ask at once.
            await asyncio.sleep(self._every * random.uniform(0.5, 1.5))
            await self.prune()

    async def prune(self) -> int:
        """Prune until a call looks at less than a batch; how many revisions were deleted."""
        deleted = 0
        try:
            while True:
                scanned, gone = await self._store.revisions_prune(self._keep, self._max_age, BATCH)
                deleted += gone
                if scanned < BATCH:
                    break
        except ApiError as exc:  # the database away, or busy: next time (the gateway has logged why)
            log.info("revisions not pruned this time: %s", exc.detail)
        if deleted:
            log.info("pruned %d revisions past retention", deleted)
        return deleted

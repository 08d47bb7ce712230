"""The change feed's long-polls: each waits for any change past its cursor, and reads the feed
again when one comes (the hub, api.watch.hub, tells of every change)."""

import asyncio
from collections.abc import Awaitable, Callable


class FeedWaits:
    """The feed's long-polls waiting now: each one's wake-up, and the revision it waits to pass."""

    def __init__(self) -> None:
        self._waiting: dict[asyncio.Future, int] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    async def changes_after(
        self, after: int, read: Callable[[], Awaitable[str]], seconds: float, closing: Callable[[], bool]
    ) -> str:
        """The changes after revision `after` as `read()` finds them (a JSON array) as soon as there
        are any, or none (`[]`) when `seconds` pass first or the server is `closing()`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            # Registered before the read: a change committed after its snapshot wakes this one.
            woken = loop.create_future()
            self._waiting[woken] = after
            try:
                page = await read()
                remaining = deadline - loop.time()
                if page != "[]" or closing() or remaining <= 0:
                    return page
                try:
                    await asyncio.wait_for(woken, remaining)
                except TimeoutError:
                    # Once more: a change may have been missed while the listener was away.
                    return await read()
            finally:
                self._waiting.pop(woken, None)

    def wake(self, revision: int | None = None) -> None:
        """Wake the long-polls waiting to pass `revision` (None: all of them)."""
        for woken, after in list(self._waiting.items()):
            if (revision is None or after < revision) and not woken.done():
                woken.set_result(None)

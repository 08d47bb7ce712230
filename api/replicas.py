"""Reads, spread over PostgreSQL standbys when READ_DATABASE_URLS names some; else the primary.

A standby serves a read only while it is known fresh: every `max_lag / 4` seconds the
primary's WAL insert position is read (at time t) and each standby is asked whether it has replayed
that far; if so, it holds everything committed before t, and may serve reads until
t + max_lag. A standby that lags, or cannot be reached, is skipped: the read goes to the
primary. When the primary cannot be reached, a reachable standby serves reads whatever its
lag (nothing newer can be written meanwhile), while writes answer 503.

A standby's answer is not the last word on two things, which the primary confirms: that
a resource does not exist (it may be new), and that it differs from the ETag the client sent
in If-None-Match (the client may hold a newer version, from its own write). So a client that
sends the ETag its write returned never reads anything older than its write.
"""

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import psycopg2

from api.database import BROKEN, Database, PoolTimeout
from api.etags import etag, none_match

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Standby:
    name: str  # where it is, for the log and /readyz
    db: Database
    fresh_until: float = 0.0  # monotonic time until which its reads are within the bound
    reachable: bool = False


def _unavailable(exc: BaseException) -> bool:
    """A failure of the server or the way to it, not of the statement."""
    if isinstance(exc, PoolTimeout):
        return True
    code = getattr(exc, "pgcode", None) or ""
    return (isinstance(exc, BROKEN) and not code) or code[:2] in ("08", "53", "57")


class Reads:
    """`fetch_value`, `fetch_values` and `fetch_row` as `Database` has them, for STABLE reads."""

    def __init__(self, primary: Database, standbys: Sequence[Standby] = (), max_lag: float = 1.0) -> None:
        self.primary = primary
        self.standbys = list(standbys)
        self.max_lag = max_lag
        self.primary_reachable = True
        self._turn = count()
        self._task: asyncio.Task | None = None

    # -- reading ----------------------------------------------------------------------------

    async def fetch_value(self, statement: str, params: Sequence[Any] = (), *, if_none_match: str | None = None) -> Any:
        """The first column of the one row; with If-None-Match, a standby's answer that does not
        match it is confirmed on the primary."""

        def settled(text: str) -> bool:
            return if_none_match is None or none_match(if_none_match, etag(text))

        return await self._read("fetch_value", statement, params, settled)

    async def fetch_values(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        return await self._read("fetch_values", statement, params)

    async def fetch_row(self, statement: str, params: Sequence[Any] = ()) -> tuple:
        return await self._read("fetch_row", statement, params)

    async def _read(self, method: str, statement: str, params: Sequence[Any], settled=lambda answer: True) -> Any:
        standby = self._pick()
        if standby is None:
            return await getattr(self.primary, method)(statement, params, idempotent=True)
        try:
            answer = await getattr(standby.db, method)(statement, params, idempotent=True)
        except (psycopg2.Error, PoolTimeout) as exc:
            if _unavailable(exc):
                log.warning("standby %s unavailable, reading from the primary: %s", standby.name, str(exc).strip())
                standby.reachable, standby.fresh_until = False, 0.0
                return await getattr(self.primary, method)(statement, params, idempotent=True)
            if getattr(exc, "pgcode", None) != "P0002":
                raise
            return await self._confirm(method, statement, params, exc)  # it may exist on the primary already
        if settled(answer):
            return answer
        return await self._confirm(method, statement, params, answer)  # the client may hold a newer one

    async def _confirm(self, method: str, statement: str, params: Sequence[Any], standby_answer: Any) -> Any:
        """The primary's answer; the standby's when the primary cannot be reached."""
        try:
            return await getattr(self.primary, method)(statement, params, idempotent=True)
        except (psycopg2.Error, PoolTimeout) as exc:
            if not _unavailable(exc):
                raise
        if isinstance(standby_answer, BaseException):
            raise standby_answer
        return standby_answer

    def _pick(self) -> Standby | None:
        now = time.monotonic()
        usable = [
            s for s in self.standbys if s.fresh_until > now or (not self.primary_reachable and s.reachable)
        ]  # fmt: skip
        return usable[next(self._turn) % len(usable)] if usable else None

    # -- keeping track of lag ---------------------------------------------------------------

    def start(self) -> None:
        if self.standbys:
            self._task = asyncio.get_running_loop().create_task(self._watch_lag(), name="replica-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _watch_lag(self) -> None:
        while True:
            try:
                await self.check()
            except Exception:  # the standbys go unused until a check succeeds: reads stay correct
                log.exception("replica lag check failed")
            await asyncio.sleep(self.max_lag / 4)

    async def check(self) -> None:
        """Read the primary's WAL position now, then ask each standby whether it has replayed it."""
        if not self.standbys:
            return
        started = time.monotonic()
        try:
            # Where the next record goes: past every commit, even one not yet flushed (asynchronous
            # commit). At a page boundary it is past the page's header, which a standby never
            # replays: that standby counts as behind until the next write, safely.
            position = await self.primary.fetch_value("SELECT pg_current_wal_insert_lsn()::text", idempotent=True)
            self.primary_reachable = True
        except (psycopg2.Error, PoolTimeout) as exc:
            if _unavailable(exc):
                self.primary_reachable = False
            else:  # e.g. no right to read the position: no standby is known fresh, reads stay correct
                log.warning("replica lag check: the primary's WAL position cannot be read: %s", str(exc).strip())
            position = None
        await asyncio.gather(*(self._check(standby, position, started) for standby in self.standbys))

    async def _check(self, standby: Standby, position: str | None, started: float) -> None:
        try:
            replayed = await standby.db.fetch_value(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)", (position or "0/0",), idempotent=True
            )
        except (psycopg2.Error, PoolTimeout) as exc:
            if standby.reachable:
                log.warning("standby %s unreachable: %s", standby.name, str(exc).strip())
            standby.reachable, standby.fresh_until = False, 0.0
            return
        standby.reachable = True
        if position is not None and replayed:
            standby.fresh_until = started + self.max_lag

    def problems(self) -> list[str]:
        """What /readyz reports of the standbys: those that cannot serve reads now."""
        now = time.monotonic()
        problems = []
        for standby in self.standbys:
            if not standby.reachable:
                problems.append(f"standby {standby.name} cannot be reached")
            elif self.primary_reachable and standby.fresh_until <= now:
                problems.append(f"standby {standby.name} lags more than {self.max_lag:g} s: reads go to the primary")
        return problems

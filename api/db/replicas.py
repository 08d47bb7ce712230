"""Reads, spread over PostgreSQL standbys when READ_DATABASE_URLS names some; else the primary.

A standby serves a read only while it is known fresh: several times per `max_lag`, the
primary's WAL insert position is read (at time t) and each standby is asked whether it has
replayed that far; one that has holds everything committed before t, and may serve reads
until t + max_lag. A standby that lags, fails or cannot be reached is skipped: the read goes
to the primary. The checks use connections of their own, so a busy pool cannot stall them.

A standby's answer is not the last word on two things, which the primary confirms: that a
resource does not exist (it may be new), and that it differs from the ETag the client sent in
If-None-Match (the client may hold a newer version, from its own write).

Only when the primary cannot be reached at all (not when it is merely busy) does a standby
serve reads whatever its lag, its answers unconfirmed: nothing newer can be committed then,
and a write the standby had not received when the primary went down is visible nowhere.
"""

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import psycopg2
import psycopg2.extensions

from api.db.errors import DATABASE_ERRORS, is_bad_input, is_down, is_not_found
from api.db.pool import Database
from api.etags import etag, none_match

log = logging.getLogger(__name__)

# The primary's position, and not past a page's header: after a WAL page (or segment) switch
# with nothing written since, the insert position is past the new page's header, which a
# standby never replays; the flush position is the end of the last record, which it does.
POSITION = """
SELECT CASE WHEN mod(i - '0/0', 8192) IN (24, 40) AND f = i - mod(i - '0/0', 8192) THEN f ELSE i END::text
  FROM (SELECT pg_current_wal_insert_lsn() AS i, pg_current_wal_flush_lsn() AS f) AS now
"""
REPLAYED = "SELECT coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false)"


def where(url: str) -> str:
    """A standby's host and port, for the log (never its password, nor the URL when it is malformed)."""
    try:
        params = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        raise ValueError("READ_DATABASE_URLS holds an entry that is not a libpq URI or key=value string") from None
    return f"{params.get('host', '(default socket)')}:{params.get('port', '5432')}"


@dataclass(eq=False)
class Standby:
    label: str  # "standby 1": the first of READ_DATABASE_URLS, as /readyz names it
    where: str  # its host and port, for the log only
    db: Database  # the reads' pool
    lag_check: Database  # one connection for the lag checks
    fresh_until: float = 0.0  # monotonic time until which its reads are within the bound
    replayed_at: float | None = None  # when the primary was at the newest position it has replayed
    reachable: bool = False

    @property
    def name(self) -> str:
        return f"{self.label} ({self.where})"


Fetch = Callable[[Database], Awaitable[Any]]


def _any(answer: Any) -> bool:
    return True


class Reads:
    """`fetch_value` and `fetch_values` as `Database` has them, for STABLE reads; `pinned()` for a
    request that reads several times."""

    def __init__(self, primary: Database, lag_check: Database | None = None, standbys: Sequence[Standby] = (),
                 max_lag: float = 1.0) -> None:  # fmt: skip
        self.primary = primary
        self._lag_check = lag_check
        self.standbys = list(standbys)
        self.max_lag = max_lag
        self.primary_reachable = True
        self._turn = count()
        self._task: asyncio.Task | None = None

    # -- reading ----------------------------------------------------------------------------

    async def fetch_value(self, statement: str, params: Sequence[Any] = (), *, if_none_match: str | None = None) -> Any:
        """The first column of the one row; with If-None-Match, a standby's answer that does not
        match it is confirmed on the primary."""
        if not self.standbys:  # the hot path without replicas: nothing to choose
            return await self.primary.fetch_value(statement, params, idempotent=True)

        def settled(text: str) -> bool:
            return if_none_match is None or none_match(if_none_match, etag(text))

        return await self._read(lambda db: db.fetch_value(statement, params, idempotent=True), settled)

    async def fetch_row(
        self, statement: str, params: Sequence[Any] = (), *, settled: Callable[[tuple], bool] | None = None
    ) -> tuple:
        """The one row, every column; a standby's row that `settled` refuses is confirmed on the primary."""
        if not self.standbys:
            return await self.primary.fetch_row(statement, params, idempotent=True)
        return await self._read(lambda db: db.fetch_row(statement, params, idempotent=True), settled or _any)

    def connections_opened(self) -> int:
        """Connections the pools of the primary's reads and of the standbys have opened so far."""
        return self.primary.connections_opened + sum(standby.db.connections_opened for standby in self.standbys)

    async def fetch_values(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        if not self.standbys:
            return await self.primary.fetch_values(statement, params, idempotent=True)
        return await self._read(lambda db: db.fetch_values(statement, params, idempotent=True))

    def pinned(self) -> "Pinned":
        """Reads that go on where the first went (a streamed list: no page from an older snapshot)."""
        return Pinned(self)

    async def _read(self, fetch: Fetch, settled: Callable[[Any], bool] = _any) -> Any:
        standby = self._pick()
        if standby is None:
            return await fetch(self.primary)
        try:
            answer = await fetch(standby.db)
        except DATABASE_ERRORS as exc:
            if is_bad_input(exc):
                raise
            if is_not_found(exc):
                return await self._confirm(fetch, exc)  # it may be new: the primary has it already
            # Unreachable, busy, or a query cancelled by a conflict with recovery: the primary answers.
            log.warning("%s failed a read, the primary answers it: %s", standby.name, str(exc).strip())
            if is_down(exc):
                standby.reachable, standby.fresh_until = False, 0.0
            return await fetch(self.primary)
        if settled(answer):
            return answer
        return await self._confirm(fetch, answer)  # the client may hold a newer version

    async def _confirm(self, fetch: Fetch, standby_says: Any) -> Any:
        """The primary's answer; while it cannot be reached at all, what the standby said."""
        if self.primary_reachable:
            try:
                return await fetch(self.primary)
            except DATABASE_ERRORS as exc:
                if not is_down(exc):
                    raise  # busy (a 503), or its own answer (a 404)
        if isinstance(standby_says, BaseException):
            raise standby_says
        return standby_says

    def _pick(self) -> Standby | None:
        usable = [standby for standby in self.standbys if self.usable(standby)]
        return usable[next(self._turn) % len(usable)] if usable else None

    def usable(self, standby: Standby) -> bool:
        """Known within the bound, or, with the primary unreachable, reachable at all."""
        return standby.fresh_until > time.monotonic() or (not self.primary_reachable and standby.reachable)

    # -- keeping track of lag ---------------------------------------------------------------

    def _pools(self) -> list[Database]:
        """The pools of the standbys and of the lag checks (the primary's own is not this object's)."""
        checks = [self._lag_check] if self._lag_check is not None else []
        return checks + [pool for standby in self.standbys for pool in (standby.db, standby.lag_check)]

    async def start(self) -> None:
        """Open the pools, learn which standbys may serve the first request, then watch the lag."""
        for pool in self._pools():
            pool.open()
        if self.standbys:
            await self.check()
            self._task = asyncio.get_running_loop().create_task(self._watch_lag(), name="replica-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for pool in self._pools():
            pool.close()

    async def _watch_lag(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.max_lag / 4)

    async def check(self) -> None:
        try:
            await self._check_all()
        except Exception:  # the standbys go unused until a check succeeds: reads stay correct
            log.exception("replica lag check failed")

    async def _check_all(self) -> None:
        """Read the primary's WAL position now, then ask each standby whether it has replayed it;
        each step bounded, so that one silent server cannot hold the others back."""
        if not self.standbys or self._lag_check is None:
            return
        started = time.monotonic()
        position = None
        try:
            position = await asyncio.wait_for(self._lag_check.fetch_value(POSITION), self.max_lag / 2)
            self.primary_reachable = True
        except (*DATABASE_ERRORS, TimeoutError) as exc:
            if is_down(exc):
                self.primary_reachable = False
            else:  # busy or slow: no standby is newly known fresh; reads stay correct
                log.warning("replica lag check: the primary's position not read: %s", str(exc).strip() or "timeout")
        await asyncio.gather(*(self._check(standby, position, started) for standby in self.standbys))

    async def _check(self, standby: Standby, position: str | None, started: float) -> None:
        try:
            replayed = await asyncio.wait_for(
                standby.lag_check.fetch_value(REPLAYED, (position or "0/0",)), self.max_lag / 2
            )
        except (*DATABASE_ERRORS, TimeoutError) as exc:
            if standby.reachable:
                log.warning("%s unreachable: %s", standby.name, str(exc).strip() or "timeout")
            standby.reachable, standby.fresh_until = False, 0.0
            return
        standby.reachable = True
        if position is not None and replayed:
            standby.fresh_until = started + self.max_lag
            standby.replayed_at = started

    def views(self) -> list[tuple[str, float, bool]]:
        """Each standby's label, the upper bound on its replay lag in seconds (inf while unknown),
        and whether reads may go to it now: what the metrics sample."""
        now = time.monotonic()
        return [
            (s.label, now - s.replayed_at if s.replayed_at is not None else math.inf, self.usable(s))
            for s in self.standbys
        ]

    def problems(self) -> list[str]:
        """What /readyz reports of the standbys: those that cannot serve reads now."""
        now = time.monotonic()
        problems = []
        for standby in self.standbys:
            if not standby.reachable:
                problems.append(f"{standby.label} cannot be reached: reads go to the primary")
            elif self.primary_reachable and standby.fresh_until <= now:
                problems.append(f"{standby.label} lags more than {self.max_lag:g} s: reads go to the primary")
        return problems


class Pinned:
    """Reads of one request that must not go back in time: all from the standby the first used,
    while it stays usable, and from the primary once one has been."""

    _UNSET = object()

    def __init__(self, reads: Reads) -> None:
        self._reads = reads
        self._standby: Any = self._UNSET

    async def fetch_value(self, statement: str, params: Sequence[Any] = ()) -> Any:
        return await self._fetch(lambda db: db.fetch_value(statement, params, idempotent=True))

    async def fetch_row(self, statement: str, params: Sequence[Any] = ()) -> tuple:
        return await self._fetch(lambda db: db.fetch_row(statement, params, idempotent=True))

    async def _fetch(self, fetch: Fetch) -> Any:
        reads = self._reads
        if self._standby is self._UNSET:
            self._standby = reads._pick()
        elif self._standby is not None and not reads.usable(self._standby):
            self._standby = None  # forward to the primary, never to another standby
        if self._standby is None:
            return await fetch(reads.primary)
        try:
            return await fetch(self._standby.db)
        except DATABASE_ERRORS as exc:
            if is_bad_input(exc):
                raise
            log.warning("%s failed a read, the primary goes on: %s", self._standby.name, str(exc).strip())
            self._standby = None
            if is_not_found(exc):
                return await reads._confirm(fetch, exc)
            return await fetch(reads.primary)

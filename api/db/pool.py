"""PostgreSQL access for async code: a psycopg2 pool driven through a thread pool.

psycopg2 blocks, so each call runs on a `ThreadPoolExecutor` with as many
threads as the pool has connections, each taking calls from one queue. `ThreadedConnectionPool.getconn()` raises
rather than waits when every connection is out, so `Database.slot()` admits at
most `pool_max_size` calls at once: the rest queue on an asyncio semaphore, each
for at most `pool_timeout` seconds, and then fail with `PoolTimeout` (a 503).

Connections run in autocommit, because every call is one statement of one
function, which is atomic by itself: no BEGIN/COMMIT round trips. The json
results of the functions are kept as text, to be sent on as the HTTP body
without being parsed and serialised again.

A connection the server closed (a restart, an idle timeout) is noticed before
use without a round trip: its socket turns readable. It is discarded and
replaced; a read that still meets a broken connection is retried once on a
fresh one. Writes are not retried, since the first attempt may have committed.
"""

import asyncio
import contextvars
import logging
import select
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from queue import SimpleQueue
from typing import Any, Protocol

import psycopg2
import psycopg2.extensions
import psycopg2.extras
import psycopg2.pool

from api.db.errors import BROKEN, PoolTimeout, sqlstate

log = logging.getLogger(__name__)


class CallRecorder(Protocol):
    """What a pool reports of its calls (the metrics, wired by the composition root)."""

    def call(self, statement: str, seconds: float, sqlstate: str | None) -> None:
        """One call, its time in its thread, and its SQLSTATE when it failed."""

    def timed_out(self) -> None:
        """A call found no connection free in time."""


class _Connection(psycopg2.extensions.connection):
    """A pooled connection, set up once when the pool opens it, with the one cursor its calls share.

    Making and closing a RealDictCursor per call costs CPU that all holds the GIL the event loop
    needs (what sharing buys: docs/performance.md, shared_cursor). A cursor keeps its last result
    until the next statement, so one that held a large result is closed (`settle`).
    """

    LARGE_RESULT_CHARS = 64 * 1024

    def __init__(
        self,
        dsn: str,
        *args: Any,
        statement_timeout_ms: int = 0,
        share: bool = True,
        opened: Callable[[], None] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(dsn, *args, **kwargs)
        opened()
        self.autocommit = True
        self._share = share  # off only to measure what sharing buys (SPEED_TRICKS_OFF=shared_cursor)
        psycopg2.extras.register_default_json(self, loads=str)
        psycopg2.extras.register_default_jsonb(self, loads=str)
        self._shared: psycopg2.extras.RealDictCursor | None = None
        self.returned_at = 0.0  # time.monotonic() when it last went back to the pool
        # A setting of the session, not a startup option: PgBouncer refuses unknown startup options.
        with self.cursor() as cur:
            cur.execute("SELECT set_config('statement_timeout', %s, false)", (str(statement_timeout_ms),))

    def shared_cursor(self) -> psycopg2.extras.RealDictCursor:
        if self._shared is None:
            self._shared = self.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
        return self._shared

    def settle(self, values: list[Any] | None) -> None:
        """Close the shared cursor unless it holds only a short statement and one small value
        (`values`; None after a failure): a page of a list, or a large config sent in a write that
        failed, must not stay behind on an idle connection. Before the connection goes back."""
        cur = self._shared
        if cur is None:
            return
        small = (
            values is not None
            and len(values) == 1
            and not isinstance(values[0], tuple)
            and not (isinstance(values[0], str) and len(values[0]) > self.LARGE_RESULT_CHARS)
            and len(cur.query or b"") <= self.LARGE_RESULT_CHARS
        )
        if not small or not self._share:
            self._shared = None
            if not self.closed:
                cur.close()


# A connection back in the pool this recently is taken without the check below: a check costs
# its thread a system call that lets go of the GIL, and a switch to get it back (what skipping
# it buys: docs/performance.md, trust_recent_connections). One the server closed within this
# moment is met by the call itself: a read is retried once, a write fails (503).
RECENT_SECONDS = 0.05


def _usable(conn: psycopg2.extensions.connection) -> bool:
    """Whether an idle connection is still open: the server has sent nothing it was not asked for."""
    if conn.closed:
        return False
    # poll(), not select(): select() fails on descriptors past 1023, which a busy server reaches.
    poller = select.poll()
    poller.register(conn, select.POLLIN)
    return not poller.poll(0)


def _settle(answer: asyncio.Future, rows: list[Any] | None, error: BaseException | None) -> None:
    """In the loop: a call's outcome to the future its caller awaits, unless the caller gave up."""
    if answer.cancelled():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(rows)


class Database:
    """A pool of `max_size` connections, used from async code through `fetch_value` and `fetch_values`."""

    def __init__(
        self,
        dsn: str,
        min_size: int,
        max_size: int,
        timeout: float,
        *,
        statement_timeout_ms: int = 0,
        connect_timeout: int = 2,
        application_name: str = "appconfig-api",
        metrics: CallRecorder | None = None,
        shared_cursor: bool = True,
        direct_futures: bool = True,
        trust_recent: bool = True,
    ) -> None:
        self._dsn = dsn
        self._application_name = application_name
        self._min_size = min_size
        self.max_size = max_size
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._connection_factory = partial(
            _Connection, statement_timeout_ms=statement_timeout_ms, share=shared_cursor, opened=self._opened
        )
        self._direct_futures = direct_futures  # off only to measure what they buy (SPEED_TRICKS_OFF)
        self._trust_recent = RECENT_SECONDS if trust_recent else 0.0  # likewise
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._calls: SimpleQueue[Callable[[], None] | None] = SimpleQueue()  # for the executor's threads
        self._serving = False  # whether the executor's threads wait on `_calls`
        self._slots = asyncio.Semaphore(max_size)
        self._metrics = metrics
        self.in_use = 0  # calls holding a slot now
        self.waiting = 0  # calls waiting for one
        # Connections opened so far: a new one may be to a server whose history went back (api.db.versions).
        self.connections_opened = 0

    def _opened(self) -> None:
        self.connections_opened += 1

    def open(self) -> None:
        """Open the pool; a database that cannot be reached now is retried on each call."""
        try:
            self._pool = self._new_pool(self._min_size)
        except psycopg2.OperationalError as exc:
            log.warning("database not reachable at start-up, connecting on demand: %s", str(exc).strip())
            self._pool = self._new_pool(0)
        # Only once the pool is made: threads left waiting on the queue would keep the process from exiting.
        self._executor = ThreadPoolExecutor(max_workers=self.max_size, thread_name_prefix="db")
        if self._direct_futures:
            for _ in range(self.max_size):
                self._executor.submit(self._serve_calls)
            self._serving = True

    def _new_pool(self, min_size: int) -> psycopg2.pool.ThreadedConnectionPool:
        return psycopg2.pool.ThreadedConnectionPool(
            min_size,
            self.max_size,
            self._dsn,
            connection_factory=self._connection_factory,
            application_name=self._application_name,
            connect_timeout=self._connect_timeout,
            # A server that vanished without closing the connection (a partition) is noticed in
            # seconds, not after the kernel's two hours; ignored on a Unix socket.
            keepalives=1,
            keepalives_idle=5,
            keepalives_interval=2,
            keepalives_count=2,
        )

    def close(self) -> None:
        if self._serving:
            self._serving = False
            for _ in range(self.max_size):
                self._calls.put(None)  # each thread's last call
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._pool is not None and not self._pool.closed:
            self._pool.closeall()

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait, at most the pool timeout, until a connection is certain to be free."""
        if self._slots.locked():
            self.waiting += 1
            try:
                await asyncio.wait_for(self._slots.acquire(), self._timeout)
            except TimeoutError:
                if self._metrics is not None:
                    self._metrics.timed_out()
                raise PoolTimeout(f"no database connection free within {self._timeout:g} s") from None
            finally:
                self.waiting -= 1
        else:
            await self._slots.acquire()  # free: no timer needed
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._slots.release()

    def _checkout(self) -> psycopg2.extensions.connection:
        assert self._pool is not None, "Database.open() was not called"
        # Every idle connection may have died with a server restart: try each at most once.
        for _ in range(self.max_size):
            conn = self._pool.getconn()
            if time.monotonic() - conn.returned_at < self._trust_recent or _usable(conn):
                return conn
            self._pool.putconn(conn, close=True)
        return self._pool.getconn()

    def _run(self, statement: str, params: Sequence[Any], idempotent: bool, whole_rows: bool = False) -> list[Any]:
        """On an executor thread: one statement on a pooled connection, each row's first value (or all)."""
        for attempt in (1, 2):
            conn = self._checkout()
            values = None
            try:
                cur = conn.shared_cursor()
                cur.execute(statement, params)
                rows = cur.fetchall()
                values = [tuple(row.values()) if whole_rows else next(iter(row.values())) for row in rows]
                return values
            except BROKEN:
                if conn.closed and idempotent and attempt == 1:
                    log.warning("database connection broke; retrying the read on a new one")
                    continue
                raise
            finally:
                conn.settle(values)
                # A broken connection must not go back into the pool.
                conn.returned_at = time.monotonic()
                self._pool.putconn(conn, close=bool(conn.closed))
        raise AssertionError("unreachable")

    async def fetch_values(self, statement: str, params: Sequence[Any] = (), *, idempotent: bool = False) -> list[Any]:
        """Run `statement` and return the first column of every row; `idempotent` reads are retried once."""
        return await self._call(statement, params, idempotent, False)

    async def fetch_row(self, statement: str, params: Sequence[Any] = (), *, idempotent: bool = False) -> tuple:
        """Run `statement` and return its one row, every column."""
        [row] = await self._call(statement, params, idempotent, True)
        return row

    async def _call(self, statement: str, params: Sequence[Any], idempotent: bool, whole_rows: bool) -> list[Any]:
        async with self.slot():
            # Run in this request's context, so the thread's log records carry its request id.
            context = contextvars.copy_context()
            took = [0.0]  # the call's time in its thread, for the metrics

            def run() -> list[Any]:
                started = time.perf_counter()
                try:
                    return context.run(self._run, statement, params, idempotent, whole_rows)
                finally:
                    took[0] = time.perf_counter() - started

            try:
                if self._direct_futures:
                    rows = await self._in_thread(run)
                else:
                    rows = await asyncio.get_running_loop().run_in_executor(self._executor, run)
            except asyncio.CancelledError:
                raise  # its caller, gone, is counted by its own answer
            except BaseException as exc:
                if self._metrics is not None:
                    self._metrics.call(statement, took[0], sqlstate(exc) or "none")
                raise
            # Recorded here, in the loop: recorded in the thread, between the result and the loop's
            # wake-up, it cost a GET 16-45 µs (measured), prometheus-client's locks taken while
            # sixteen threads pass the GIL around.
            if self._metrics is not None:
                self._metrics.call(statement, took[0], None)
            return rows

    def _serve_calls(self) -> None:
        """On each of the executor's threads, while the pool is open: the calls `_in_thread` queues."""
        while (call := self._calls.get()) is not None:
            try:
                call()
            except Exception:  # the thread must outlive any one call
                log.exception("a database call's outcome was not handed back")
            finally:
                del call  # a waiting thread must not keep the last call's statement and parameters alive

    async def _in_thread(self, run: Callable[[], list[Any]]) -> list[Any]:
        """`run()` on one of the executor's threads, which wait on a queue for calls, its outcome
        handed straight to a future of the loop. `submit()` makes a Future and a work item and
        takes a semaphore and several locks per call, and `run_in_executor` chains a second future
        to it (what going around both saves: docs/performance.md, direct_futures)."""
        if not self._serving:
            raise RuntimeError("the database pool is not open")
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        gave_up = False

        def call() -> None:
            if gave_up:  # its caller was cancelled before a thread took it: it never runs
                return
            try:
                rows = run()
            except BaseException as exc:
                loop.call_soon_threadsafe(_settle, answer, None, exc)
            else:
                loop.call_soon_threadsafe(_settle, answer, rows, None)

        self._calls.put(call)
        try:
            return await answer
        except asyncio.CancelledError:
            gave_up = True  # if a thread has taken it, _settle drops its outcome
            raise

    async def fetch_value(self, statement: str, params: Sequence[Any] = (), *, idempotent: bool = False) -> Any:
        """Run `statement` and return the first column of its one row."""
        [value] = await self.fetch_values(statement, params, idempotent=idempotent)
        return value

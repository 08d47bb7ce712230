"""Prometheus metrics: what the service counts, and the scrape that reads them (`/metrics`).

Requests and database calls are recorded as they happen, in the event loop, each through a
labelled child looked up once per label set: prometheus-client's `labels()` takes a lock and
builds a key, a microsecond a request that the hot path keeps. The gauges (pools, long-polls,
streams, the listener, the standbys) are read from the live objects when a scrape comes, and
the database is tried then, on a connection of its own, at most once a second.

With several workers, `python -m api` points PROMETHEUS_MULTIPROC_DIR at a directory of its
own: every worker writes its values to files there, and a scrape, whichever process serves
it, adds them up (prometheus-client's multiprocess mode). A scrape cannot ask the other
workers, so each samples its gauges every second as well.
"""

import asyncio
import logging
import math
import os
import platform
import re
import threading
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg2
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest, start_http_server
from prometheus_client.registry import Collector

from settings import PROJECT_ROOT

if TYPE_CHECKING:
    from api.database import Database
    from api.replicas import Reads
    from api.watch import Watchers

log = logging.getLogger(__name__)

# The *_created series (when each child was made) double the scrape and are rarely read.
disable_created_metrics()

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

# 1 ms to 10 s: a read by id takes a millisecond or two, a statement timeout five seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# A client chooses the method: any other would be a new label value, without bound.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

# Set in a request's scope by a response whose duration is the client's own wait (a long-poll,
# an event stream): counted, but kept out of the latency histogram it would swamp.
UNTIMED = "appconfig.untimed"

DATABASE_UP = "appconfig_database_up"
DATABASE_UP_HELP = "1 when the primary accepts a connection (tried at a scrape, at most once a second), else 0."

FUNCTION = re.compile(r"([a-z_][a-z0-9_]*)\(")


def version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Metrics:
    """Every metric of one API process, in one registry."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.multiprocess = multiprocess_mode()
        self.requests = Counter(
            "appconfig_http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "appconfig_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template (long-polls and event streams not).",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.call_seconds = Histogram(
            "appconfig_database_call_duration_seconds",
            "Time of a database function call, from taking a connection to the last row read.",
            ["database", "function"],
            buckets=BUCKETS,
            registry=registry,
        )
        self.call_errors = Counter(
            "appconfig_database_call_errors_total",
            "Database function calls that raised, by SQLSTATE (08006: the connection failed).",
            ["database", "function", "sqlstate"],
            registry=registry,
        )
        self.pool_timeouts = Counter(
            "appconfig_database_pool_timeouts_total",
            "Calls that found no connection free within POOL_TIMEOUT: on the primary a 503; a standby's read "
            "goes to the primary instead.",
            ["database"],
            registry=registry,
        )
        self.pool_size = self._gauge(
            "appconfig_database_pool_size", "Connections a pool may hold.", "livesum", "database"
        )
        self.pool_in_use = self._gauge(
            "appconfig_database_pool_in_use", "Connections taken by a call now.", "livesum", "database"
        )
        self.pool_waiting = self._gauge(
            "appconfig_database_pool_waiting", "Calls waiting for a free connection now.", "livesum", "database"
        )
        self.long_polls = self._gauge("appconfig_long_polls_open", "Long-polls (GET with wait) waiting now.", "livesum")
        self.streams = self._gauge("appconfig_event_streams_open", "Event streams open now.", "livesum")
        self.listener_connected = self._gauge(
            "appconfig_listener_connected",
            "1 when the LISTEN connection is up (with several workers: in every one of them).",
            "livemin",
        )
        self.listener_reconnects = Counter(
            "appconfig_listener_reconnects_total",
            "Times the LISTEN connection was made again after it was lost (each worker has its own).",
            registry=registry,
        )
        self.standby_lag = self._gauge(
            "appconfig_standby_lag_seconds",
            "Seconds since the primary was at the newest WAL position the standby is known to have replayed: an "
            "upper bound on its replay lag, checked every MAX_REPLICA_LAG/4 (+Inf until a check has succeeded).",
            "livemax",
            "standby",
        )
        self.standby_in_use = self._gauge(
            "appconfig_standby_in_use", "1 while reads may go to the standby, else 0.", "livemax", "standby"
        )
        build = self._gauge("appconfig_build_info", "The running version; always 1.", "livemax", "version", "python")
        build.labels(version(), platform.python_version()).set(1)

        self._request_children: dict[tuple, tuple[Counter, Histogram]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pools: list[tuple[str, Database]] = []
        self._reads: Reads | None = None
        self._watchers: Watchers | None = None
        self.scraped: CollectorRegistry | None = None  # made by watch()
        self._sampler: asyncio.Task | None = None
        self.scrape_executor: ThreadPoolExecutor | None = None

    def _gauge(self, name: str, documentation: str, mode: str, *labels: str) -> Gauge:
        return Gauge(name, documentation, labels, multiprocess_mode=mode, registry=self.registry)

    # -- recorded as it happens ---------------------------------------------------------------

    def request(self, method: str, template: str | None, status: int, seconds: float, timed: bool) -> None:
        """One answered request; `template` is its route's (None when no route matched)."""
        if method not in METHODS:
            method = "other"
        template = template or "unmatched"
        key = (method, template, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self.requests.labels(method, template, str(status)),
                self.request_seconds.labels(method, template),
            )
        children[0].inc()
        if timed:
            children[1].observe(seconds)

    def pool(self, database: str) -> "PoolMetrics":
        return PoolMetrics(self, database)

    # -- sampled at a scrape ------------------------------------------------------------------

    def watch(
        self,
        pools: list[tuple[str, "Database"]],
        reads: "Reads",
        watchers: "Watchers",
        dsn: str,
        connect_timeout: int,
    ) -> None:
        """Read the gauges from these, in this event loop (at start-up)."""
        self._loop = asyncio.get_running_loop()
        # Scrapes take turns on a thread of their own: a flood of them must not hold the threads
        # that asyncio.to_thread lends the listener and the readiness check.
        self.scrape_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics")
        self._pools, self._reads, self._watchers = pools, reads, watchers
        # What a scrape reads: this process's registry, or every worker's files in multiprocess mode.
        source = workers_registry() if self.multiprocess else self.registry
        self.scraped = _scraped(self._before_scrape, source, DatabaseCheck(dsn, connect_timeout))
        self.sample()
        if self.multiprocess:
            self._sampler = self._loop.create_task(self._sample_every_second(), name="metrics-sampler")

    def unwatch(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
        self._loop = None
        if self.scrape_executor is not None:
            self.scrape_executor.shutdown(wait=False)

    def sample(self) -> None:
        """Set the gauges from the live objects; in their event loop."""
        for name, db in self._pools:
            self.pool_size.labels(name).set(db.max_size)
            self.pool_in_use.labels(name).set(db.in_use)
            self.pool_waiting.labels(name).set(db.waiting)
        if self._watchers is not None:
            self.long_polls.set(self._watchers.waiting)
            self.streams.set(self._watchers.streaming)
            self.listener_connected.set(self._watchers.listening)
        if self._reads is not None:
            now = time.monotonic()
            for standby in self._reads.standbys:
                lag = now - standby.replayed_at if standby.replayed_at is not None else math.inf
                self.standby_lag.labels(standby.label).set(lag)
                self.standby_in_use.labels(standby.label).set(self._reads.usable(standby))

    async def _sample_every_second(self) -> None:
        while True:
            await asyncio.sleep(1)
            try:
                self.sample()
            except Exception:  # the next second tries again; the gauges are a second older meanwhile
                log.exception("metrics: sampling the gauges failed")

    def _before_scrape(self) -> None:
        """In the scrape's thread: the gauges sampled in their event loop, which the scrape waits for."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            done = threading.Event()

            def sample() -> None:
                try:
                    self.sample()
                finally:
                    done.set()

            loop.call_soon_threadsafe(sample)
            if not done.wait(timeout=5):
                log.warning("metrics: the event loop did not sample the gauges within 5 s; they may be stale")
        if self.multiprocess:
            _forget_dead_workers()


class _WorkersFiles(multiprocess.MultiProcessCollector):
    """The workers' files, but none that a worker is creating right now: empty until the library
    gives it its size, such a file failed the whole scrape (a 500) while a worker restarted."""

    def collect(self) -> Iterable[Metric]:
        return self.merge([str(path) for path in Path(self._path).glob("*.db") if _begun(path)], accumulate=True)


def _begun(path: Path) -> bool:
    try:
        return path.stat().st_size > 0  # once sized, a file only grows until the next run wipes it
    except FileNotFoundError:  # a dead worker's live gauges, just forgotten
        return False


def workers_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    _WorkersFiles(registry)
    return registry


def supervisor_registry(dsn: str, connect_timeout: int) -> CollectorRegistry:
    """The scrape of the process that supervises the workers: their files, and the database tried.
    (It makes no metric of its own: a live gauge of its own would count as one more worker's.)"""
    return _scraped(_forget_dead_workers, workers_registry(), DatabaseCheck(dsn, connect_timeout))


def serve(registry: CollectorRegistry, host: str, port: int) -> Callable[[], None]:
    """/metrics on a port of its own, from a thread; returns what stops it."""
    server, thread = start_http_server(port, host, registry=registry)
    log.info("metrics served on http://%s:%d/metrics", host, port)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join()

    return stop


def exposition(registry: CollectorRegistry, accept: str) -> tuple[bytes, str]:
    """The scrape's body and content type, in the format the scraper asked for; blocks."""
    try:
        encoder, content_type = choose_encoder(accept)
    except (TypeError, ValueError):  # an Accept the library cannot read (version=abc): the plain format
        encoder, content_type = generate_latest, CONTENT_TYPE_PLAIN_0_0_4
    return encoder(registry), content_type


class DatabaseCheck:
    """Whether the primary accepts a connection, tried on one of its own (the pool may be full)
    at most once a second: /metrics may be public, and each try costs the server a backend."""

    EVERY_SECONDS = 1.0

    def __init__(self, dsn: str, connect_timeout: int) -> None:
        self._dsn, self._connect_timeout = dsn, connect_timeout
        self._lock = threading.Lock()
        self._checked_at = -math.inf
        self._up = 0

    def up(self) -> int:
        if time.monotonic() - self._checked_at < self.EVERY_SECONDS:
            return self._up
        # A scrape that comes while another tries takes the last answer rather than wait for it;
        # only while there is no answer yet does it wait for that first one.
        if not self._lock.acquire(blocking=self._checked_at == -math.inf):
            return self._up
        try:
            if time.monotonic() - self._checked_at >= self.EVERY_SECONDS:  # none came while it waited
                self._up = _reachable(self._dsn, self._connect_timeout)
                self._checked_at = time.monotonic()
        finally:
            self._lock.release()
        return self._up


class _Scrape(Collector):
    """`source`, read after `before()` has run, and whether the database accepts a connection now
    (tried by whichever process serves the scrape, rather than kept by each worker)."""

    def __init__(self, before: Callable[[], None], source: CollectorRegistry, check: DatabaseCheck) -> None:
        self._before, self._source, self._check = before, source, check

    def collect(self) -> Iterator[Metric]:
        self._before()
        yield from self._source.collect()
        yield GaugeMetricFamily(DATABASE_UP, DATABASE_UP_HELP, self._check.up())


def _scraped(before: Callable[[], None], source: CollectorRegistry, check: DatabaseCheck) -> CollectorRegistry:
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Scrape(before, source, check))
    return scraped


class PoolMetrics:
    """The calls of one pool ("primary", "standby 1"), recorded in the event loop."""

    def __init__(self, metrics: Metrics, database: str) -> None:
        self._metrics, self._database = metrics, database
        self._children: dict[str, tuple[str, Histogram]] = {}

    def call(self, statement: str, seconds: float, error: BaseException | None) -> None:
        child = self._children.get(statement)
        if child is None:
            match = FUNCTION.search(statement)
            function = match.group(1) if match else "other"
            child = self._children[statement] = (function, self._metrics.call_seconds.labels(self._database, function))
        child[1].observe(seconds)
        if error is not None:
            self._metrics.call_errors.labels(self._database, child[0], _sqlstate(error)).inc()

    def timed_out(self) -> None:
        self._metrics.pool_timeouts.labels(self._database).inc()


def _sqlstate(error: BaseException) -> str:
    code = getattr(error, "pgcode", None)
    if code:
        return code
    if isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        return "08006"  # connection_failure: psycopg2 gives no code when the server is gone
    return "none"


def _reachable(dsn: str, connect_timeout: int) -> int:
    try:
        conn = psycopg2.connect(dsn, connect_timeout=connect_timeout, application_name="appconfig-metrics")
    except psycopg2.Error:
        return 0
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return 1
    except psycopg2.Error:
        return 0
    finally:
        conn.close()


def _forget_dead_workers() -> None:
    """Drop the live gauges of workers that have exited (the server restarts a worker that dies).
    What multiprocess.mark_process_dead does, but a file another scrape removed first is no error."""
    for path in Path(os.environ[MULTIPROCESS_DIR]).glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def wipe(directory: str) -> None:
    """Remove what an earlier run left in a multiprocess directory: its counts would be added to
    this run's, and its workers' pids may be reused."""
    for path in Path(directory).glob("*.db"):
        path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

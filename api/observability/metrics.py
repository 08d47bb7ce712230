"""Prometheus metrics: what the service counts, recorded as it happens or sampled at a scrape.

Requests and database calls are recorded as they happen, in the event loop, each through a
labelled child looked up once per label set: prometheus-client's `labels()` takes a lock and
builds a key, a microsecond a request that the hot path keeps. The gauges (pools, long-polls,
streams, the listener, the standbys) are sampled from what the composition root hands to
`watch()`: small read-only views (`PoolView`, `WatchView`, `standbys`), so that this module
imports nothing of the service. With several workers a scrape cannot ask the other workers,
so each samples its gauges every second as well (api.observability.scrape adds them up).
"""

import asyncio
import logging
import platform
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, disable_created_metrics

from api.observability.scrape import DatabaseCheck, forget_dead_workers, multiprocess_mode, scraped, workers_registry
from settings import PROJECT_ROOT

log = logging.getLogger(__name__)

# The *_created series (when each child was made) double the scrape and are rarely read.
disable_created_metrics()

# 1 ms to 10 s: a read by id takes a millisecond or two, a statement timeout five seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# A client chooses the method: any other would be a new label value, without bound.
METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))

# Set in a request's scope by a response whose duration is the client's own wait (a long-poll,
# an event stream): counted, but kept out of the latency histogram it would swamp.
UNTIMED = "appconfig.untimed"

FUNCTION = re.compile(r"([a-z_][a-z0-9_]*)\(")


class PoolView(Protocol):
    """What the gauges read of a connection pool."""

    max_size: int
    in_use: int
    waiting: int


class WatchView(Protocol):
    """What the gauges read of the watch hub."""

    @property
    def waiting(self) -> int: ...

    @property
    def streaming(self) -> int: ...

    @property
    def listening(self) -> bool: ...

    @property
    def capacity(self) -> int: ...


# A standby's label, its lag in seconds (inf while unknown), and whether reads may go to it.
StandbyView = tuple[str, float, bool]


# What ProcessCollector reports, as gauges each worker sets for itself in multiprocess mode.
PROCESS_GAUGES = {
    "process_resident_memory_bytes": "Resident memory size in bytes, of each worker (label pid).",
    "process_virtual_memory_bytes": "Virtual memory size in bytes, of each worker (label pid).",
    "process_open_fds": "Number of open file descriptors, of each worker (label pid).",
    "process_max_fds": "Maximum number of open file descriptors, of each worker (label pid).",
    "process_cpu_seconds_total": "Total user and system CPU time spent in seconds, of each worker (label pid).",
    "process_start_time_seconds": "Start time of the process since unix epoch in seconds, of each worker (label pid).",
}


def version() -> str:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["version"]


class Metrics:
    """Every metric of one API process, in one registry."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.multiprocess = multiprocess_mode()
        # The process's memory, CPU and descriptors: read at a scrape from /proc by the library's own
        # collector; with several workers each samples its own into files, one series per worker.
        self._process = ProcessCollector(registry=None if self.multiprocess else registry)
        self._process_gauges = (
            {
                name: Gauge(name, documentation, multiprocess_mode="all", registry=registry)
                for name, documentation in PROCESS_GAUGES.items()
            }
            if self.multiprocess
            else {}
        )
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
        self.watchers_refused = Counter(
            "appconfig_watchers_refused_total",
            "Long-polls and event streams refused with 503: the process, or their client, held as many as it may.",
            registry=registry,
        )
        self.watchers_capacity = self._gauge(
            "appconfig_watchers_capacity", "Most long-polls and event streams the process holds at once.", "livesum"
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
        self._pools: Sequence[tuple[str, PoolView]] = ()
        self._watch: WatchView | None = None
        self._standbys: Callable[[], Iterable[StandbyView]] = tuple
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
        pools: Sequence[tuple[str, PoolView]],
        watch: WatchView,
        standbys: Callable[[], Iterable[StandbyView]],
        database_reachable: Callable[[], bool],
    ) -> None:
        """Read the gauges from these, in this event loop (at start-up); `database_reachable` is
        tried at a scrape, at most once a second, from the scrape's thread."""
        self._loop = asyncio.get_running_loop()
        # Scrapes take turns on a thread of their own: a flood of them must not hold the threads
        # that asyncio.to_thread lends the listener and the readiness check.
        self.scrape_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics")
        self._pools, self._watch, self._standbys = pools, watch, standbys
        for name, _ in pools:  # a counter of a known label set is there from the start, at 0
            self.pool_timeouts.labels(name)
        # What a scrape reads: this process's registry, or every worker's files in multiprocess mode.
        source = workers_registry() if self.multiprocess else self.registry
        self.scraped = scraped(self._before_scrape, source, DatabaseCheck(database_reachable))
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
        if self._process_gauges:
            for family in self._process.collect():
                gauge = self._process_gauges.get(family.name + ("_total" if family.type == "counter" else ""))
                if gauge is not None and family.samples:
                    gauge.set(family.samples[0].value)
        for name, db in self._pools:
            self.pool_size.labels(name).set(db.max_size)
            self.pool_in_use.labels(name).set(db.in_use)
            self.pool_waiting.labels(name).set(db.waiting)
        if self._watch is not None:
            self.watchers_capacity.set(self._watch.capacity)
            self.long_polls.set(self._watch.waiting)
            self.streams.set(self._watch.streaming)
            self.listener_connected.set(self._watch.listening)
        for label, lag, in_use in self._standbys():
            self.standby_lag.labels(label).set(lag)
            self.standby_in_use.labels(label).set(in_use)

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
            forget_dead_workers()


class PoolMetrics:
    """The calls of one pool ("primary", "standby 1"), recorded in the event loop."""

    def __init__(self, metrics: Metrics, database: str) -> None:
        self._metrics, self._database = metrics, database
        self._children: dict[str, tuple[str, Histogram]] = {}

    def call(self, statement: str, seconds: float, sqlstate: str | None) -> None:
        child = self._children.get(statement)
        if child is None:
            match = FUNCTION.search(statement)
            function = match.group(1) if match else "other"
            child = self._children[statement] = (function, self._metrics.call_seconds.labels(self._database, function))
        child[1].observe(seconds)
        if sqlstate is not None:
            self._metrics.call_errors.labels(self._database, child[0], sqlstate).inc()

    def timed_out(self) -> None:
        self._metrics.pool_timeouts.labels(self._database).inc()

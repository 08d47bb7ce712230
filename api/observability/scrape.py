"""The scrape: Prometheus' exposition of the metrics, in one process or added up over workers.

With several workers, `python -m api` points PROMETHEUS_MULTIPROC_DIR at a directory of its
own: every worker writes its values to files there, and a scrape, whichever process serves
it, adds them up (prometheus-client's multiprocess mode). Every scrape also says whether the
database accepts a connection now, tried by a callable the composition root hands in.
"""

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, choose_encoder, generate_latest, start_http_server
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

DATABASE_UP = "appconfig_database_up"
DATABASE_UP_HELP = "1 when the primary accepts a connection (tried at a scrape, at most once a second), else 0."


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROCESS_DIR))


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


def supervisor_registry(reachable: Callable[[], bool]) -> CollectorRegistry:
    """The scrape of the process that supervises the workers: their files, and the database tried.
    (It makes no metric of its own: a live gauge of its own would count as one more worker's.)"""
    return scraped(forget_dead_workers, workers_registry(), DatabaseCheck(reachable))


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

    def __init__(self, reachable: Callable[[], bool]) -> None:
        self._reachable = reachable
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
                self._up = int(self._reachable())
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


def scraped(before: Callable[[], None], source: CollectorRegistry, check: DatabaseCheck) -> CollectorRegistry:
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Scrape(before, source, check))
    return scraped


def forget_dead_workers() -> None:
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

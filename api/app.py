"""The FastAPI application factory.

`create_app()` builds the app from a `Settings` (read from the environment when
none is given, as when uvicorn imports it by name in a worker process). The
lifespan opens the database pool, the standbys' pools (api.replicas) and the
listener (api.watch) at start-up, and closes them at shutdown, once every
long-poll has been answered.
"""

import asyncio
import gc
import logging
import resource
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import psycopg2.extensions
from fastapi import APIRouter, FastAPI

from api import openapi, problems
from api.body_guard import BodyGuard
from api.database import Database
from api.logs import configure_logging, stop_logging
from api.readiness import Readiness
from api.replicas import Reads, Standby
from api.request_log import RequestLog
from api.routes import JsonResponse, applications, by_name, configurations, docs, events, health
from api.watch import HeldResponses, Listener, Watchers
from settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_url
        if not dsn:
            # The app never starts a database itself: `python -m api` resolves one before serving.
            raise RuntimeError("DATABASE_URL is not set; `make run` (python -m api) starts the embedded server")
        database = _pool(settings, dsn, "appconfig-api", timeout=settings.pool_timeout)
        database.open()
        app.state.database = database
        lag = settings.max_replica_lag
        standbys = [
            Standby(
                f"standby {number}",
                _where(url),
                # A standby's pool waits briefly: a read that finds it full goes to the primary.
                _pool(settings, url, "appconfig-api-read", timeout=min(settings.pool_timeout, lag / 2)),
                _pool(settings, url, "appconfig-lag-check", size=1, timeout=lag / 2),
            )
            for number, url in enumerate(settings.read_urls, start=1)
        ]
        lag_check = _pool(settings, dsn, "appconfig-lag-check", size=1, timeout=lag / 2) if standbys else None
        reads = app.state.reads = Reads(database, lag_check, standbys, lag)
        await reads.start()
        app.state.readiness = Readiness(dsn, timeout_seconds=settings.connect_timeout)
        watchers = app.state.watchers = Watchers(database)
        listener = Listener(settings.listen_database_url or dsn, watchers, connect_timeout=settings.connect_timeout)
        listener.start()
        restore_signals = _close_on_signal(watchers)
        _raise_open_files_limit()
        _tune_garbage_collection()
        log.info("API ready: pool of %d-%d connections", settings.pool_min_size, settings.pool_max_size)
        try:
            yield
        finally:
            restore_signals()
            watchers.close()
            await listener.stop()
            await reads.stop()
            database.close()
            log.info("API stopped: pool closed")
            # A server stopped by a signal may exit without running atexit: write the queue out now.
            stop_logging()

    app = FastAPI(
        title="Applications and configurations",
        version="1.0.0",
        description="Applications and their JSON configurations, kept by PostgreSQL functions. "
        "Every error is an RFC 9457 problem (application/problem+json).",
        lifespan=lifespan,
        default_response_class=JsonResponse,
        # Operation ids are the handlers' names (create_application, ...): what generated clients call.
        generate_unique_id_function=lambda route: route.name,
        # Starlette's redirect of "/path/" to "/path" is absolute, built from the client's Host header.
        redirect_slashes=False,
        docs_url=None,  # served by api.routes.docs, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(HeldResponses)  # inside RequestLog, which logs a long-poll when it is answered
    app.add_middleware(RequestLog)
    problems.install(app)

    api = APIRouter(prefix=API_PREFIX)
    api.include_router(by_name.router)  # first: /applications/{id}/… would take "by-name" for an id
    api.include_router(applications.router)
    api.include_router(configurations.router)
    api.include_router(events.router)
    app.include_router(api)
    app.include_router(health.router)
    docs.install(app)

    openapi.install(app)
    return app


def _close_on_signal(watchers: Watchers) -> Callable[[], None]:
    """Answer the long-polls and end the streams as soon as SIGTERM or SIGINT arrives.

    The server waits for every open request before the lifespan ends, so closing them only
    there would make a stop wait out everyone's `wait`. The server's own handlers still run.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # signals reach the main thread only (a TestClient runs the app in another)
    loop = asyncio.get_running_loop()
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}

    def handle(sig: int, frame: object) -> None:
        loop.call_soon_threadsafe(watchers.close)
        handler = previous[sig]
        if callable(handler):
            handler(sig, frame)
        elif handler == signal.SIG_DFL:
            signal.signal(sig, handler)
            signal.raise_signal(sig)

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:
                signal.signal(sig, handler)

    return restore


def _pool(settings: Settings, dsn: str, name: str, *, size: int | None = None, timeout: float) -> Database:
    return Database(
        dsn,
        size or settings.pool_min_size,
        size or settings.pool_max_size,
        timeout,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout=settings.connect_timeout,
        application_name=name,
    )


def _where(url: str) -> str:
    """A standby's host and port, for the log (never its password, nor the URL when it is malformed)."""
    try:
        params = psycopg2.extensions.parse_dsn(url)
    except psycopg2.ProgrammingError:
        raise ValueError("READ_DATABASE_URLS holds an entry that is not a libpq URI or key=value string") from None
    return f"{params.get('host', '(default socket)')}:{params.get('port', '5432')}"


def _tune_garbage_collection() -> None:
    """Held long-polls are long-lived objects by the hundred thousand; with the default thresholds,
    full collections over them (0.2-0.6 s each, measured with 10,000 watchers) fell while the
    watchers were being answered. What start-up made is frozen out of every collection, and young
    collections run less often, so that fewer short-lived objects live long enough to be promoted.
    Only in a server's main thread: a test client's app must not freeze the test process."""
    if threading.current_thread() is threading.main_thread():
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 10)


def _raise_open_files_limit() -> None:
    """Every watcher holds a socket: take all the open files the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            log.warning("open files limit stays %d: %s", soft, exc)

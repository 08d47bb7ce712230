"""The composition root: settings → pools, gateway, standbys, listener, hub, metrics → the FastAPI app.

`create_app()` builds the app from a `Settings` (read from the environment when none is
given, as when uvicorn imports it by name in a worker process). The lifespan opens the
database pool, the standbys' pools and the listener at start-up and closes them at
shutdown, once every long-poll has been answered. This is the one module that knows every
part; the parts know only what lies below them (docs/development.md).
"""

import logging
import resource
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from functools import partial

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from api.db.gateway import Store
from api.db.listener import Listener
from api.db.pool import CallRecorder, Database
from api.db.readiness import Readiness, reachable
from api.db.replicas import Reads, Standby, where
from api.db.retention import Pruner
from api.http import openapi, problems, routing
from api.http.middleware.body_guard import BodyGuard
from api.http.middleware.head import HeadAsGet
from api.http.middleware.held import HeldResponses
from api.http.middleware.request_log import RequestLog
from api.http.paths import index_paths
from api.http.responses import JsonResponse
from api.http.routes import applications, by_name, changes, configurations, docs, events, health, history, scrape
from api.observability import logs
from api.observability.logs import configure_logging, stop_logging
from api.observability.metrics import Metrics, version
from api.observability.scrape import serve
from api.schema import ids
from api.server import process
from api.watch.admission import Admission
from api.watch.hub import Watchers
from settings import Settings

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
# Matched before every other route, in this order (Starlette tries them in turn: what that buys,
# docs/performance.md): the probes' cheapest, then the reads that carry a fleet's polling.
HOT_ROUTES = ("healthz", "get_application", "get_configuration", "get_configuration_by_name", "create_application")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(
        settings.log_level,
        settings.log_format,
        secrets=settings.secrets,
        batched=settings.trick("log_batching"),
    )
    ids.draw_in_batches(settings.trick("batched_ids"))
    routing.serve_directly(settings.trick("direct_routes"))
    logs.write_request_lines(settings.trick("request_lines"))
    metrics = Metrics() if settings.metrics else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        dsn = settings.database_url
        if not dsn:
            # The app never starts a database itself: `make run` (devtools.serve) resolves one before serving.
            raise RuntimeError(
                "DATABASE_URL is not set; `make run` (python -m devtools.serve) starts the embedded server"
            )
        # Whatever has started is stopped, in the reverse order, also when a later step fails.
        try:
            async with AsyncExitStack() as started:
                started.callback(log.info, "API stopped: pool closed")
                database = _pool(
                    settings, dsn, "appconfig-api", timeout=settings.pool_timeout, metrics=_recorder(metrics, "primary")
                )
                started.callback(database.close)
                database.open()
                reads = app.state.reads = _reads(settings, dsn, database, metrics)
                started.push_async_callback(reads.stop)
                await reads.start()
                app.state.store = Store(database, reads)
                pruner = Pruner(
                    app.state.store,
                    settings.revisions_keep,
                    settings.revisions_max_age_days * 86400,
                    settings.revisions_prune_seconds,
                )
                pruner.start()
                started.push_async_callback(pruner.stop)
                app.state.readiness = Readiness(dsn, timeout_seconds=settings.connect_timeout)
                process.raise_open_files_limit()
                if settings.workers > 1 and settings.workers_yield_cpu and process.yield_cpu():
                    log.info("worker at idle CPU priority within its scheduling group (WORKERS_YIELD_CPU)")
                admission = _admission(settings, metrics)
                watchers = app.state.watchers = Watchers(admission, skip_unwatched=settings.trick("skip_unwatched"))
                listener = Listener(
                    settings.listen_database_url or dsn,
                    watchers,
                    app.state.store,
                    connect_timeout=settings.connect_timeout,
                    reconnected=metrics.listener_reconnects.inc if metrics else lambda: None,
                )
                listener.start()
                started.push_async_callback(listener.stop)
                started.callback(watchers.close)
                started.callback(_watch(metrics, settings, dsn, database, reads, watchers))
                started.callback(process.close_on_signal(watchers.close))
                log.info("API ready: pool of %d-%d connections", settings.pool_min_size, settings.pool_max_size)
                yield
        finally:
            # A server stopped by a signal may exit without running atexit: write the gathered records out now.
            stop_logging()

    app = FastAPI(
        title="Applications and configurations",
        version=version(),  # pyproject.toml's, as appconfig_build_info says
        description="Applications and their JSON configurations, kept by PostgreSQL functions. "
        "Every error is an RFC 9457 problem (application/problem+json).",
        lifespan=lifespan,
        # The documentation's order; the routes' order is the one that is fastest to match.
        openapi_tags=[
            {"name": "applications", "description": "Applications, by id, and their configurations."},
            {"name": "configurations", "description": "Configurations, by id."},
            {"name": "by name", "description": "What a consuming service asks for: by names, not ids."},
            {"name": "history", "description": "Every change as a revision: history, diff, revert and undelete."},
            {
                "name": "watch",
                "description": "Being told of changes: the change feed, event streams (and `wait` on GET).",
            },
            {"name": "health", "description": "Probes for an orchestrator."},
        ],
        default_response_class=JsonResponse,
        # Operation ids are the handlers' names (create_application, ...): what generated clients call.
        generate_unique_id_function=lambda route: route.name,
        # Starlette's redirect of "/path/" to "/path" is absolute, built from the client's Host header.
        redirect_slashes=False,
        docs_url=None,  # served by api.http.routes.docs, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    app.add_middleware(BodyGuard, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(HeldResponses)  # inside RequestLog, which logs a long-poll when it is answered
    app.add_middleware(HeadAsGet)  # outside HeldResponses: a held long-poll's answer is a GET's too
    if settings.cors_origins:  # inside RequestLog, which logs a preflight as any request
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PUT", "DELETE"],
            allow_headers=["Content-Type", "If-Match", "If-None-Match", "X-Request-ID", "Last-Event-ID"],
            expose_headers=["ETag", "Link", "Location", "Retry-After", "X-Request-ID"],
            max_age=600,
        )
    app.add_middleware(RequestLog, metrics=metrics)
    problems.install(app)

    # Routes are tried in order: the probes first, as they are asked most often and cheaply; the
    # scrape, asked every few seconds, after the API, so that no request of the API tries it first.
    app.include_router(health.router)
    api = APIRouter(prefix=API_PREFIX)
    api.include_router(by_name.router)  # first: /applications/{id}/… would take "by-name" for an id
    api.include_router(applications.router)
    api.include_router(configurations.router)
    api.include_router(events.router)
    api.include_router(history.router)
    api.include_router(changes.router)
    app.include_router(api)
    if metrics is not None and not settings.metrics_port:
        app.include_router(scrape.router)
    docs.install(app)
    # /healthz and the reads that carry a fleet's polling are tried first. Each matches paths of
    # one shape (`[^/]+` segments) that no route before it in the order above takes.
    if settings.trick("hot_routes_first"):
        app.router.routes.sort(key=lambda route: _hot_rank(getattr(route, "name", None)))
    index_paths(app)

    openapi.install(app)
    return app


def _hot_rank(name: str | None) -> int:
    return HOT_ROUTES.index(name) if name in HOT_ROUTES else len(HOT_ROUTES)


def _pool(
    settings: Settings,
    dsn: str,
    name: str,
    *,
    size: int | None = None,
    timeout: float,
    metrics: CallRecorder | None = None,
) -> Database:
    return Database(
        dsn,
        size or settings.pool_min_size,
        size or settings.pool_max_size,
        timeout,
        statement_timeout_ms=settings.statement_timeout_ms,
        connect_timeout=settings.connect_timeout,
        application_name=name,
        metrics=metrics,
        shared_cursor=settings.trick("shared_cursor"),
        direct_futures=settings.trick("direct_futures"),
        trust_recent=settings.trick("trust_recent_connections"),
    )


def _reads(settings: Settings, dsn: str, database: Database, metrics: Metrics | None) -> Reads:
    """The primary's pool and READ_DATABASE_URLS' standbys, each with a connection for lag checks."""
    lag = settings.max_replica_lag
    standbys = [
        Standby(
            f"standby {number}",
            where(url),
            # A standby's pool waits briefly: a read that finds it full goes to the primary.
            _pool(
                settings,
                url,
                "appconfig-api-read",
                timeout=min(settings.pool_timeout, lag / 2),
                metrics=_recorder(metrics, f"standby {number}"),
            ),
            _pool(settings, url, "appconfig-lag-check", size=1, timeout=lag / 2),
        )
        for number, url in enumerate(settings.read_urls, start=1)
    ]
    lag_check = _pool(settings, dsn, "appconfig-lag-check", size=1, timeout=lag / 2) if standbys else None
    return Reads(database, lag_check, standbys, lag)


# Descriptors kept from the watchers: stdio, the listener, readiness and metrics checks, the
# scrape's server, and the ordinary requests (health checks among them) that must still be served
# when every watcher the process may hold is held. The pools' connections are added to it.
DESCRIPTOR_RESERVE = 128


def _admission(settings: Settings, metrics: Metrics | None) -> Admission:
    """How many watchers this process takes: MAX_WATCHERS, or what its open-files limit leaves."""
    # The primary's pool, each standby's and its lag check's, and the primary's lag check.
    standbys = len(settings.read_urls)
    pools = settings.pool_max_size * (1 + standbys) + standbys + (1 if standbys else 0)
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    total = settings.max_watchers or max(1, soft - DESCRIPTOR_RESERVE - pools)
    per_client = settings.max_watchers_per_client or max(1, total // 4)
    log.info("watchers: at most %d, %d from one client address", total, per_client)
    return Admission(total, per_client, refused=metrics.watchers_refused.inc if metrics else lambda: None)


def _recorder(metrics: Metrics | None, database: str) -> CallRecorder | None:
    return metrics.pool(database) if metrics is not None else None


def _watch(
    metrics: Metrics | None, settings: Settings, dsn: str, database: Database, reads: Reads, watchers: Watchers
) -> Callable[[], None]:
    """Let the metrics read the live objects; serve them on METRICS_PORT when it is set. Returns
    what stops that. (In multiprocess mode the workers' supervisor serves METRICS_PORT: api.server.serve.)"""
    if metrics is None:
        return lambda: None
    pools = [("primary", database)] + [(standby.label, standby.db) for standby in reads.standbys]
    metrics.watch(pools, watchers, reads.views, partial(reachable, dsn, settings.connect_timeout))
    if not settings.metrics_port or metrics.multiprocess:
        return metrics.unwatch
    try:
        stop_server = serve(metrics.scraped, settings.metrics_host or settings.host, settings.metrics_port)
    except BaseException:  # the port taken: nothing of the metrics may keep running
        metrics.unwatch()
        raise

    def stop() -> None:
        stop_server()
        metrics.unwatch()

    return stop

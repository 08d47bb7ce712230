"""Serve the API: `python -m api [--reload]`, which `make run` and `make dev` call.

With no DATABASE_URL configured it first starts, or reuses, the embedded
PostgreSQL 16 in .data/ and applies the migrations, so a fresh checkout serves
with no configuration at all. With DATABASE_URL set it only serves: migrating a
shared server is a deliberate step (`make migrate`).
"""

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import uvicorn

import migrations
from api import metrics, process
from api.logs import configure_logging
from settings import Settings

log = logging.getLogger("api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)

    dsn = settings.database_url
    if not dsn:
        # Development only: with a DATABASE_URL the service never imports the dev tools.
        from devtools.embedded import development_cluster

        dsn = development_cluster(settings).ensure_running()
        conn = migrations.connect(dsn)
        try:
            state = migrations.up(conn, say=log.info)
        finally:
            conn.close()
        if state.refused:
            log.error("the embedded database does not match this checkout; see `make status`")
            return 1
        # The server builds its app in the worker process (always so with --reload),
        # which reads its settings from the environment: hand it the cluster that way.
        os.environ["DATABASE_URL"] = dsn

    if settings.pin_cpu and settings.workers == 1 and not args.reload:
        # The server's own process only (several workers are left to the kernel, to spread over
        # the CPUs), and only now: the embedded PostgreSQL started above keeps every CPU.
        cpu = process.pin_to_one_cpu()
        if cpu is not None:
            log.info("serving on CPU %d only (PIN_CPU)", cpu)
    several = (settings.workers > 1 and not args.reload) or metrics.multiprocess_mode()
    with _metrics_of_workers(settings, dsn, several=several):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            reload=args.reload,
            workers=None if args.reload else settings.workers,
            timeout_graceful_shutdown=settings.shutdown_timeout,
            log_config=None,  # keep the stdlib logging set up by configure_logging
            access_log=False,  # api.request_log writes one line per request instead
        )
    return 0


@contextmanager
def _metrics_of_workers(settings: Settings, dsn: str, *, several: bool) -> Iterator[None]:
    """With several workers: their metrics counted into files that every scrape adds up (api.metrics),
    in a directory made for this run, or emptied, when PROMETHEUS_MULTIPROC_DIR names one (which also
    asks for this mode); and METRICS_PORT, which the workers cannot all bind, served by this process,
    their supervisor."""
    if not (settings.metrics and several):
        yield
        return
    with ExitStack() as stack:
        if metrics.multiprocess_mode():
            os.makedirs(os.environ[metrics.MULTIPROCESS_DIR], exist_ok=True)
            metrics.wipe(os.environ[metrics.MULTIPROCESS_DIR])
        else:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="appconfig-metrics-"))
            os.environ[metrics.MULTIPROCESS_DIR] = directory
            stack.callback(os.environ.pop, metrics.MULTIPROCESS_DIR, None)
        if settings.metrics_port:
            registry = metrics.supervisor_registry(dsn, settings.connect_timeout)
            stack.callback(metrics.serve(registry, settings.metrics_host or settings.host, settings.metrics_port))
        yield


if __name__ == "__main__":
    sys.exit(main())

"""Serve the API on DATABASE_URL: `python -m api [--reload]`.

It only serves: migrating a server is a deliberate step (`make migrate`). `make run`
and `make dev` go through `python -m devtools.serve`, which, with no DATABASE_URL
configured, first starts (or reuses) the embedded PostgreSQL 16 and migrates it.
"""

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import partial

import uvicorn

from api.db.readiness import reachable
from api.observability import scrape
from api.observability.logs import configure_logging
from api.server import process
from api.server.protocol import BoundedHeadProtocol
from settings import Settings

log = logging.getLogger("api")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reload", action="store_true", help="restart when the code changes (development)")
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secrets)

    dsn = settings.database_url
    if not dsn:
        log.error("DATABASE_URL is not set; `make run` serves on the embedded PostgreSQL")
        return 2

    if settings.pin_cpu and settings.workers == 1 and not args.reload:
        # The server's own process only (several workers are left to the kernel, to spread over
        # the CPUs), and only now: a database this process started (devtools.serve) keeps every CPU.
        cpu = process.pin_to_one_cpu()
        if cpu is not None:
            log.info("serving on CPU %d only (PIN_CPU)", cpu)
    several = (settings.workers > 1 and not args.reload) or scrape.multiprocess_mode()
    with _metrics_of_workers(settings, dsn, several=several):
        uvicorn.run(
            "api.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            reload=args.reload,
            workers=None if args.reload else settings.workers,
            timeout_graceful_shutdown=settings.shutdown_timeout,
            http=partial(
                BoundedHeadProtocol, max_head_bytes=settings.max_head_bytes, head_timeout=settings.head_timeout_seconds
            ),
            log_config=None,  # keep the stdlib logging set up by configure_logging
            access_log=False,  # api.http.middleware.request_log writes one line per request instead
        )
    return 0


@contextmanager
def _metrics_of_workers(settings: Settings, dsn: str, *, several: bool) -> Iterator[None]:
    """With several workers: their metrics counted into files that every scrape adds up (api.observability),
    in a directory made for this run, or emptied, when PROMETHEUS_MULTIPROC_DIR names one (which also
    asks for this mode); and METRICS_PORT, which the workers cannot all bind, served by this process,
    their supervisor."""
    if not (settings.metrics and several):
        yield
        return
    with ExitStack() as stack:
        if scrape.multiprocess_mode():
            os.makedirs(os.environ[scrape.MULTIPROCESS_DIR], exist_ok=True)
            scrape.wipe(os.environ[scrape.MULTIPROCESS_DIR])
        else:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="appconfig-metrics-"))
            os.environ[scrape.MULTIPROCESS_DIR] = directory
            stack.callback(os.environ.pop, scrape.MULTIPROCESS_DIR, None)
        if settings.metrics_port:
            registry = scrape.supervisor_registry(partial(reachable, dsn, settings.connect_timeout))
            stack.callback(scrape.serve(registry, settings.metrics_host or settings.host, settings.metrics_port))
        yield


if __name__ == "__main__":
    sys.exit(main())

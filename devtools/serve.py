"""`python -m devtools.serve [--reload]`: serve the API for development (`make run`, `make dev`).

With no DATABASE_URL configured it first starts, or reuses, the embedded PostgreSQL 16
in .data/ and applies the migrations, so a fresh checkout serves with no configuration
at all. With DATABASE_URL set it only serves, as `python -m api` does.
"""

import logging
import os
import sys

from api.observability.logs import configure_logging
from api.server import serve
from devtools.database import DatabaseRefused, database_url
from settings import Settings

log = logging.getLogger("devtools.serve")


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format, secrets=settings.secrets)
    try:
        dsn = database_url(settings, migrate=True)
    except DatabaseRefused as exc:
        log.error("%s", exc)
        return 1
    # The server builds its app in the worker process (always so with --reload), which reads
    # its settings from the environment: hand it the database that way.
    os.environ["DATABASE_URL"] = dsn
    return serve.main(argv)


if __name__ == "__main__":
    sys.exit(main())

"""The development database: DATABASE_URL when it is set, else the embedded cluster in .data/.

`database_url()` is the one place where that choice is made, for every development command
(`make run`, `make migrate`, `make psql`, ...); the service itself only ever takes a URL.

    python -m devtools.database start|stop|status|psql [--standby]
"""

import argparse
import logging
import os
import sys
from pathlib import Path

import migrator
from devtools.embedded import DBNAME, EmbeddedPostgres, development_cluster
from settings import Settings

log = logging.getLogger(__name__)


def _standby_place(settings: Settings) -> tuple[Path, int]:
    """Where `make standby-start` keeps its standby: beside the development cluster, on the next port."""
    return development_cluster(settings).root.parent / "standby", settings.embedded_port + 1


def development_standby(settings: Settings) -> EmbeddedPostgres:
    """The standby of the development cluster (which is started, and the standby cloned, if need be)."""
    primary = development_cluster(settings)
    primary.ensure_running()
    return primary.standby(*_standby_place(settings))


def database_url(settings: Settings, *, migrate: bool = False) -> str:
    """The configured DATABASE_URL, or else the development cluster's, started if need be and,
    with `migrate`, migrated (a configured server is migrated only by `make migrate`).

    The one place where "DATABASE_URL or the embedded cluster" is decided, for every dev command.
    """
    if settings.database_url:
        return settings.database_url
    dsn = development_cluster(settings).ensure_running()
    if migrate and migrator.migrate(dsn, say=log.info).refused:
        raise DatabaseRefused("the embedded database does not match this checkout; see `make status`")
    return dsn


class DatabaseRefused(RuntimeError):
    """The development database holds what this checkout cannot migrate (newer or edited migrations)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.database", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "psql"])
    parser.add_argument("--standby", action="store_true", help="the development standby, not the primary")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings()
    if args.standby and args.command == "start":
        standby = development_standby(settings)
        if not standby.running():
            standby.start()
        print(standby.dsn(DBNAME))
        return 0
    cluster = development_cluster(settings)
    if args.standby:
        root, port = _standby_place(settings)
        cluster = EmbeddedPostgres(root=root, port=port, os_user=settings.embedded_os_user)
    if args.command == "psql":
        psql = cluster.bin / "psql"
        os.execv(psql, [str(psql), cluster.dsn(DBNAME) if args.standby else database_url(settings)])
    if args.command == "start":
        print(cluster.ensure_running())
    elif args.command == "stop":
        if not cluster.running():
            print(f"the embedded PostgreSQL in {cluster.data_dir} was not running; nothing to stop")
            return 0
        cluster.stop()
        print(f"stopped the embedded PostgreSQL in {cluster.data_dir}; its data is kept")
    else:
        state = "running" if cluster.running() else "stopped" if cluster.initialised() else "not initialised"
        print(f"embedded PostgreSQL in {cluster.data_dir}: {state}")
        return 0 if state == "running" else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())

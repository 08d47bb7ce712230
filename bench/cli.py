"""`make bench`: the API measured against its two ceilings, on this machine, in one run.

- the database ceiling: pgbench calling the same functions directly (`-M simple`, as psycopg2);
- the HTTP ceiling: the same API process answering /healthz, which does no database work;
- the API: wrk against GET and POST, at concurrency 16 and a sweep for GET;
- listing 1,000,000 applications against COPY of the same rows as JSON;
- two uvicorn workers, and the API behind PgBouncer in transaction pooling;
- 10,000 long-polls on one configuration, and an event stream's latency from psql;
- GET by id served by a streaming standby (READ_DATABASE_URLS), next to the primary's;
- revisions: POST, PUT and GET by id of the last tree before them against HEAD's, each on a
  database of its own, and the revisions table's size after a soak of updates;
- with --tricks, every speed trick of the API on and off (bench/tricks.py).

Prints a line per stage, then the table; writes it as markdown, JSON and a PNG chart
under results/ (git-ignored). Uses a throw-away embedded PostgreSQL 16, or the server
DATABASE_URL (or --database-url) names, where it creates and then drops two databases.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from bench.chart import chart
from bench.harness import database_server, machine, now, stage
from bench.report import (
    TARGETS,
    Results,
    markdown,
    publish,
    publish_own,
    ratios,
    revisions_markdown,
    runs_markdown,
    tricks_markdown,
)
from bench.revisions import SOAK_UPDATES
from bench.stages import STAGES, Bench
from bench.watchers import WATCHERS
from settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "results"


def run(args: argparse.Namespace) -> Results:
    results = Results(started=now(), machine=machine(), seconds_per_run=args.seconds)
    with database_server(args.database_url) as cluster:
        bench = Bench(args, cluster, Path(tempfile.mkdtemp(prefix="appconfig-bench-")), results)
        try:
            for description, method, wanted in STAGES:
                if method is Bench.seed or (method.__name__ in args.only if args.only else wanted(args)):
                    stage(description)
                    method(bench)
            return results
        finally:
            shutil.rmtree(bench.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="duration of each load run")
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--list-rows", type=int, default=1_000_000, help="0 skips the listing test")
    parser.add_argument("--watchers", type=int, default=WATCHERS, help="long-polls held at once; 0 skips them")
    parser.add_argument("--pool-size", type=int, default=16, help="POOL_MIN_SIZE = POOL_MAX_SIZE of the API")
    parser.add_argument(
        "--soak-updates", type=int, default=SOAK_UPDATES, help="updates of each configuration in the revisions' soak"
    )
    parser.add_argument("--quick", action="store_true", help="concurrency 16 only; no sweep, workers or PgBouncer")
    parser.add_argument(
        "--tricks",
        action="store_true",
        help="also every speed trick on and off (python -m bench.tricks; some 8 minutes more on 2 cores)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a PostgreSQL 16 server to use instead of a throw-away one (default: $DATABASE_URL)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[method.__name__ for _, method, _ in STAGES if method is not Bench.seed],
        help="run just these stages (after seeding) and print their runs; no ratios, nothing published",
    )
    parser.add_argument(
        "--publish",
        action="store_true",
        help="with --only: write the blocks of docs/benchmarks.md that those stages fill on their own "
        "(the revisions', the speed tricks' when every trick ran); never the main tables",
    )
    args = parser.parse_args(argv)
    if args.publish and (not args.only or args.quick):
        parser.error("--publish goes with --only, and not with --quick")
    if shutil.which("wrk") is None:
        print("make bench needs wrk: apt-get install wrk (Debian), then run it again.", file=sys.stderr)
        return 2

    started = time.monotonic()
    results = run(args)
    if args.only:
        parts = (runs_markdown(results), revisions_markdown(results), tricks_markdown(results))
        print("\n" + "\n".join(part for part in parts if part))
        if args.publish:
            written = publish_own(results)
            print(f"written to docs/benchmarks.md: {', '.join(written)}" if written else "nothing to write")
        return 0
    parts = (markdown(results), revisions_markdown(results), tricks_markdown(results))
    table = "\n".join(part for part in parts if part)
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.md").write_text(table)
    (RESULTS / f"bench-{stamp}.json").write_text(
        json.dumps({**asdict(results), "ratios": ratios(results), "targets": TARGETS}, indent=2)
    )
    print()
    print(table)
    print(f"written to results/bench-{stamp}.* in {time.monotonic() - started:.0f} s")
    if not args.quick:  # a full run is what the docs show
        chart(results, RESULTS / f"bench-{stamp}.png")
        publish(results, RESULTS / f"bench-{stamp}.png")
        print("and to docs/benchmarks.md and docs/bench-get-sweep.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())

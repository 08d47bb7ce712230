"""`python -m bench.tricks [TRICK ...]`: every speed trick of the API against the same API without it.

Each trick earns its place or goes. A setting of the API turns one off (SPEED_TRICKS_OFF=<name>,
PIN_CPU=false for pinning); two servers of this checkout, one uvicorn worker each, the trick on in
one and off in the other, alternate on the trick's own stage, `--rounds` times, each side keeping
its best run; a trick keeps its place when that gains 2 % or more:

    direct_futures, shared_cursor, pin_cpu,  GET by id (/s, and the server's CPU per request)
    direct_routes, hot_routes_first,
    trust_recent_connections
    batched_ids, skip_unwatched              POST (/s, CPU per request)
    log_batching, request_lines              GET by id and /healthz with INFO logs (/s, CPU per request)
    held_response                            long-polls: RSS per watcher (KB), the last one woken (s)

Prints the table and writes it into docs/benchmarks.md between `<!-- bench:tricks:start -->` and
`<!-- bench:tricks:end -->` when every trick ran (not with --quick). `python -m bench --tricks` runs
the same stage on its own seeded database. On 2 cores a full run takes some 8 minutes (the load
stages 4 s per run, 10,000 watchers), --quick some 3 (2 s per run, 1,000 watchers).
"""

import argparse
import math
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from itertools import count
from pathlib import Path

from api.server.process import raise_open_files_limit
from bench.harness import (
    database_server,
    machine,
    now,
    on_the_same_cpu,
    prepare,
    seed_main,
    serving,
    sql,
    stage,
)
from bench.load import BENCH, CONCURRENCY, alternating, wrk
from bench.markers import add_markers, replace_between_markers
from bench.watchers import WATCHERS, held_and_woken
from settings import PROJECT_ROOT, Settings

# Each trick and the stage it is measured on.
TRICKS = {
    "direct_futures": "get",
    "shared_cursor": "get",
    "pin_cpu": "get",
    "direct_routes": "get",
    "hot_routes_first": "get",
    "trust_recent_connections": "get",
    "batched_ids": "post",
    "skip_unwatched": "post",
    "log_batching": "logged",
    "request_lines": "logged",
    "held_response": "watchers",
}
# The load stages: the routes (of load.PEER_ROUTES) run against both servers, and both servers' settings.
LOAD_STAGES: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "get": (("get_app",), {}),
    "post": (("post_app",), {}),
    "logged": (("get_app", "healthz"), {"LOG_LEVEL": "INFO"}),
}
ROUTE_NAMES = {"get_app": "GET by id", "post_app": "POST", "healthz": "/healthz"}
KEEP = 0.02  # the least gain that keeps a trick in the code
# Alternations, each side keeping its best: with three, POST's rate moved by more than some tricks
# buy; the CPU per request (also shown) is the steadier figure.
ROUNDS = 5
LEAST_ROUNDS = 3
DOCUMENT = PROJECT_ROOT / "docs" / "benchmarks.md"
MARKERS = "bench:tricks"
UNHONOURED = "This checkout's Settings have no speed_tricks_off: SPEED_TRICKS_OFF may have turned nothing off."


def off(trick: str) -> dict[str, str]:
    """The settings that turn `trick` off."""
    return {"PIN_CPU": "false"} if trick == "pin_cpu" else {"SPEED_TRICKS_OFF": trick}


@dataclass
class Measurement:
    """One figure of a trick's stage, the trick on (`with_trick`) and off (`without`), each side's best."""

    trick: str
    stage: str
    with_trick: float
    without: float
    unit: str = "/s"
    higher_is_better: bool = True
    failures: int = 0  # non-2xx answers, socket errors, watchers not answered 200: both sides, every run

    @property
    def gain(self) -> float:
        """What the trick buys, as a fraction: with / without - 1 for a rate; for a cost (KB, seconds)
        without / with - 1, so that a trick that helps gains more than 0 either way. NaN if unmeasurable."""
        better, worse = (self.with_trick, self.without) if self.higher_is_better else (self.without, self.with_trick)
        return better / worse - 1 if worse > 0 and better > 0 else math.nan

    @property
    def verdict(self) -> str:
        if math.isnan(self.gain):
            return "not measured"
        return "keeps its place" if self.gain >= KEEP else f"below {KEEP * 100:g} %"


def shown(value: float, unit: str) -> str:
    return {"/s": f"{value:,.0f}/s", "KB": f"{value:.1f} KB", "s": f"{value:.3f} s", "µs": f"{value:.0f} µs"}[unit]


def markdown(rows: list[Measurement], heading: str = "") -> str:
    """The table of `rows`, under `heading`, with the failures of every run below it."""
    lines = [heading, ""] if heading else []
    lines += ["| trick | stage | with | without | gain | verdict |", "|---|---|---:|---:|---:|---|"]
    for row in rows:
        gain = "" if math.isnan(row.gain) else f"{row.gain * 100:+.1f} %"
        lines.append(f"| {row.trick} | {row.stage} | {shown(row.with_trick, row.unit)} | "
                     f"{shown(row.without, row.unit)} | {gain} | {row.verdict} |")  # fmt: skip
    failures = sum(row.failures for row in rows)
    lines += ["", f"Non-2xx answers, socket errors and watchers not answered 200, all runs: {failures}."]
    return "\n".join(lines) + "\n"


def complete(rows: list[Measurement]) -> bool:
    """Whether `rows` hold every trick: only then do they replace the table in the docs."""
    return {row.trick for row in rows} == set(TRICKS)


def publish(rows: list[Measurement], heading: str, document: Path = DOCUMENT) -> None:
    add_markers(document, MARKERS, "## Speed tricks")
    replace_between_markers(document, MARKERS, markdown(rows, heading))


def honoured() -> bool:
    """Whether this checkout's API reads SPEED_TRICKS_OFF: where it does not, every trick would
    seem to gain nothing."""
    return "speed_tricks_off" in Settings.model_fields


# -- the measurements -----------------------------------------------------------------------


@dataclass
class Seeded:
    """What the tricks run against: a seeded database, the ids wrk asks for, where the servers log."""

    dsn: str
    app_env: dict[str, str]
    config_id: str
    workdir: Path
    pool_size: int = 16

    def settings(self, **more: str) -> dict[str, str]:
        return {"POOL_MIN_SIZE": str(self.pool_size), "POOL_MAX_SIZE": str(self.pool_size), **more}


def on_routes(trick: str, seeded: Seeded, rounds: int, seconds: float) -> list[Measurement]:
    """Two servers up at once, the trick on and off, alternating on the stage's routes."""
    routes, settings = LOAD_STAGES[TRICKS[trick]]
    logs = seeded.workdir
    with (
        serving(seeded.dsn, logs / f"{trick}-with.log", **seeded.settings(**settings)) as with_it,
        serving(seeded.dsn, logs / f"{trick}-without.log", **seeded.settings(**settings, **off(trick))) as without,
    ):
        on_the_same_cpu(with_it.process.pid, without.process.pid)
        best = alternating({"with": with_it, "without": without}, seeded.app_env, rounds, seconds, routes=routes)
    logged = ", INFO logs" if "LOG_LEVEL" in settings else ""
    rows = []
    for route in routes:
        with_best, without_best = best["with", route], best["without", route]
        with_run, without_run = with_best.load, without_best.load
        failures = with_run.non_2xx + with_run.errors + without_run.non_2xx + without_run.errors
        name = f"{ROUTE_NAMES[route]}{logged}"
        rows.append(Measurement(trick, name, with_run.rate, without_run.rate, failures=failures))
        # The server's CPU per request in those runs: what the trick saves, less blurred by the machine.
        rows.append(Measurement(trick, f"{name}: CPU per request", with_best.cpu_us, without_best.cpu_us, unit="µs",
                                higher_is_better=False))  # fmt: skip
    return rows


_changes = count(1)


def on_watchers(trick: str, seeded: Seeded, rounds: int, watchers: int) -> list[Measurement]:
    """`watchers` long-polls held on one configuration and woken by one change, the trick on and off in
    turn, each run in a server of its own: a process keeps the memory it once held, so a second
    run in it would grow less. The sides swap who goes first each round."""
    raise_open_files_limit()
    path = f"/api/v1/configurations/{seeded.config_id}"
    sides = {"with": {}, "without": off(trick)}
    kb: dict[str, list[float]] = {side: [] for side in sides}
    last: dict[str, list[float]] = {side: [] for side in sides}
    failures = 0

    def change() -> None:
        # New content every time: an update to the same content keeps the ETag, and wakes no one.
        sql(seeded.dsn, f"SELECT config_update('{seeded.config_id}', 'changed', '{{\"watched\": {next(_changes)}}}')")

    for round_ in range(rounds):
        for side in list(sides)[:: 1 if round_ % 2 == 0 else -1]:
            log = seeded.workdir / f"{trick}-{side}-{round_}.log"
            # Every watcher comes from this one address: let it hold them all.
            one_client = {"MAX_WATCHERS_PER_CLIENT": str(watchers)}
            with serving(seeded.dsn, log, **seeded.settings(LOG_LEVEL="WARNING", **one_client, **sides[side])) as api:
                wrk(api.base, CONCURRENCY, 1, BENCH / "get_app.lua", **seeded.app_env)  # warm its pool; not recorded
                per_watcher, woken, _ = held_and_woken(api, path, watchers, change, lambda: None)
            kb[side].append(per_watcher)
            last[side].append(woken.max_s)
            failures += watchers - woken.statuses.get(200, 0)
        stage(f"  {trick}, round {round_ + 1}: " + ", ".join(
            f"{side} {kb[side][-1]:.1f} KB, {last[side][-1]:.3f} s" for side in sides))  # fmt: skip
    return [
        Measurement(trick, f"{watchers:,} watchers: RSS per watcher", min(kb["with"]), min(kb["without"]),
                    unit="KB", higher_is_better=False, failures=failures),
        # The same runs' failures, counted once, on the row above.
        Measurement(trick, f"{watchers:,} watchers: the last woken", min(last["with"]), min(last["without"]),
                    unit="s", higher_is_better=False),
    ]  # fmt: skip


def measure(tricks: list[str], seeded: Seeded, *, rounds: int, seconds: float, watchers: int) -> list[Measurement]:
    """Every trick of `tricks` on its stage; the watchers' tricks are left out when `watchers` is 0."""
    rows: list[Measurement] = []
    for trick in tricks:
        if TRICKS[trick] == "watchers" and not watchers:
            continue
        stage(f"{trick}: on, and off with {' '.join(f'{k}={v}' for k, v in off(trick).items())}")
        if TRICKS[trick] == "watchers":
            rows += on_watchers(trick, seeded, rounds, watchers)
        else:
            rows += on_routes(trick, seeded, rounds, seconds)
    return rows


def heading(started: str, machine: str, rounds: int, seconds: float) -> str:
    return (
        f"Speed tricks, from the run of {started} ({machine}): each trick on and off in two servers of one "
        f"uvicorn worker, {rounds} alternations of {seconds:g} s per load run (a server of its own for each "
        f"watchers' run), each side keeping its best. Gain: with / without - 1 for a rate, without / with - 1 "
        f"for a cost; a trick keeps its place from +{KEEP * 100:g} %."
    )


def enough_rounds(value: str) -> int:
    rounds = int(value)
    if rounds < LEAST_ROUNDS:
        raise argparse.ArgumentTypeError(f"at least {LEAST_ROUNDS}")
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tricks", description=__doc__.split("\n\n")[0])
    parser.add_argument("tricks", nargs="*", metavar="TRICK", help=f"of {', '.join(TRICKS)} (default: all)")
    parser.add_argument("--seconds", type=float, help="duration of each load run (default 4, --quick 2)")
    parser.add_argument("--rounds", type=enough_rounds, default=ROUNDS, help="alternations; each side keeps its best")
    parser.add_argument("--watchers", type=int, help=f"long-polls held at once (default {WATCHERS:,}, --quick 1,000)")
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument("--pool-size", type=int, default=16, help="POOL_MIN_SIZE = POOL_MAX_SIZE of the API")
    parser.add_argument("--quick", action="store_true", help="shorter runs, fewer watchers; nothing written")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a PostgreSQL 16 server to use instead of a throw-away one (default: $DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.tricks if name not in TRICKS]
    if unknown:
        parser.error(f"no trick named {', '.join(unknown)}; the tricks: {', '.join(TRICKS)}")
    if shutil.which("wrk") is None:
        print("bench.tricks needs wrk: apt-get install wrk (Debian), then run it again.", file=sys.stderr)
        return 2
    if not honoured():
        stage(f"WARNING: {UNHONOURED}")
    seconds = args.seconds or (2 if args.quick else 4)
    watchers = args.watchers if args.watchers is not None else (1_000 if args.quick else WATCHERS)
    started = now()
    with database_server(args.database_url) as cluster:
        workdir = Path(tempfile.mkdtemp(prefix="appconfig-tricks-"))
        try:
            dsn = prepare(cluster, "bench_tricks")
            app_ids, config_ids = seed_main(dsn, args.applications, workdir)
            app_env = {"IDS_FILE": str(app_ids), "PATH_PREFIX": "/api/v1/applications/"}
            seeded = Seeded(dsn, app_env, config_ids.read_text().split()[0], workdir, args.pool_size)
            rows = measure(args.tricks or list(TRICKS), seeded, rounds=args.rounds, seconds=seconds, watchers=watchers)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    title = heading(started, machine(), args.rounds, seconds)
    print("\n" + markdown(rows, title))
    if args.quick or not complete(rows):
        print("not written to docs/benchmarks.md: only a full run of every trick is")
    else:
        publish(rows, title)
        print("written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

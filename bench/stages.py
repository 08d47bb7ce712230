"""The stages of `make bench`: the `Bench` class holds one run, each stage is one of its methods,
and `STAGES` says in which order they run, what each measures and when it is wanted."""

import argparse
import asyncio
import subprocess
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import psycopg2

from api.server.process import raise_open_files_limit
from bench import revisions, tricks
from bench.harness import (
    BIG_BYTES,
    BIG_FILE,
    Cluster,
    PgBouncer,
    cpu_seconds,
    on_the_same_cpu,
    prepare,
    rss_kb,
    seed_list,
    seed_main,
    serving,
    sql,
    stage,
)
from bench.load import (
    BENCH,
    CONCURRENCY,
    SWEEP,
    TAIL_RUNS,
    Best,
    Load,
    alternating,
    fastest,
    keep_faster,
    p99_over_p50,
    pgbench,
    with_failures_of,
    wrk,
)
from bench.report import Results
from bench.watchers import held_and_woken, stream_latencies
from devtools.api_process import ApiProcess
from devtools.embedded import EmbeddedPostgres
from settings import PROJECT_ROOT


def measure_list(api: ApiProcess) -> dict[str, float]:
    pid = api.process.pid
    idle = rss_kb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    started = time.perf_counter()
    first_byte = None
    size = rows = 0
    tail = b""  # the end of the previous chunk, so that a marker split between two chunks counts once
    with httpx.stream("GET", f"{api.base}/api/v1/applications", timeout=300) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            rows += (tail + chunk).count(b'{"id"')
            tail = chunk[-4:]
    total = time.perf_counter() - started
    peak = rss_kb(pid, "VmHWM")
    return {
        "rows": rows,
        "bytes": size,
        "ttfb_s": first_byte or total,
        "total_s": total,
        "rows_per_s": rows / total,
        "rss_growth_mb": (peak - idle) / 1024,
    }


def measure_copy(cluster: Cluster, dsn: str) -> dict[str, float]:
    statement = (
        "COPY (SELECT row_to_json(a) FROM (SELECT id, name, comments FROM applications ORDER BY id) a) TO STDOUT"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [str(cluster.bin / "psql"), "-X", "-q", "-c", statement, dsn], capture_output=True, check=True
    )
    total = time.perf_counter() - started
    rows = result.stdout.count(b"\n")
    return {"copy_rows": rows, "copy_total_s": total, "copy_rows_per_s": rows / total}


@dataclass
class Bench:
    """One run: the server, what was seeded in it, and the results so far. Each stage is a method."""

    args: argparse.Namespace
    cluster: Cluster
    workdir: Path
    results: Results
    main_dsn: str = ""
    app_env: dict[str, str] = field(default_factory=dict)
    config_env: dict[str, str] = field(default_factory=dict)
    names_env: dict[str, str] = field(default_factory=dict)
    big_config_id: str = ""  # seed_main's configuration of BIG_BYTES as served

    @property
    def sweep(self) -> tuple[int, ...]:
        return (CONCURRENCY,) if self.args.quick else SWEEP

    def api(
        self, dsn: str, log_name: str, cwd: Path = PROJECT_ROOT, **settings: str
    ) -> AbstractContextManager[ApiProcess]:
        pool = str(self.args.pool_size)
        return serving(dsn, self.workdir / log_name, cwd=cwd, POOL_MIN_SIZE=pool, POOL_MAX_SIZE=pool, **settings)

    def tail(self, name: str, run: Callable[[], Load]) -> None:
        """`run` TAIL_RUNS times, its p99 / p50 to be judged on their median: every run's ratio is
        kept, and under `name` the first run, as a route run once is (its rate compared with theirs)."""
        runs = [run() for _ in range(TAIL_RUNS)]
        self.results.tails[name] = ratios = [p99_over_p50(load) for load in runs]
        self.results.http[name] = with_failures_of(runs[0], runs)
        stage(
            f"  {name}: p99 / p50 of its runs {', '.join(f'{ratio:.1f}' for ratio in ratios)}, judged on their median"
        )

    def seed(self) -> None:
        self.main_dsn = prepare(self.cluster, "bench")
        app_ids, config_ids = seed_main(self.main_dsn, self.args.applications, self.workdir)
        self.app_env = {"IDS_FILE": str(app_ids), "PATH_PREFIX": "/api/v1/applications/"}
        self.config_env = {"IDS_FILE": str(config_ids), "PATH_PREFIX": "/api/v1/configurations/"}
        names = self.workdir / "config_names.txt"
        self.names_env = {"IDS_FILE": str(names), "PATH_PREFIX": "/api/v1/applications/by-name/"}
        self.big_config_id = (self.workdir / BIG_FILE).read_text().split()[0]

    def database_ceiling(self) -> None:
        count, seconds, database = self.args.applications, self.args.seconds, self.results.database
        pick_app = f"\\set n random(1, {count})\nSELECT app_get((SELECT id FROM bench.app_ids WHERE n = :n));\n"
        pick_config = (
            f"\\set n random(1, {3 * count})\nSELECT config_get((SELECT id FROM bench.config_ids WHERE n = :n));\n"
        )
        for c in self.sweep:
            database[f"app_get_c{c}"] = pgbench(self.cluster, "bench", pick_app, c, seconds)
        database["config_get_c16"] = pgbench(self.cluster, "bench", pick_config, CONCURRENCY, seconds)
        create = "SELECT app_create('pgbench-' || gen_random_uuid());\n"
        database["app_create_c16"] = pgbench(self.cluster, "bench", create, CONCURRENCY, seconds)

    def one_worker(self) -> None:
        seconds, http = self.args.seconds, self.results.http
        with self.api(self.main_dsn, "api.log") as api:
            for c in self.sweep:
                http[f"healthz_c{c}"] = wrk(f"{api.base}/healthz", c, seconds)
                get_app = partial(wrk, api.base, c, seconds, BENCH / "get_app.lua", **self.app_env)
                if c == CONCURRENCY:
                    self.tail(f"get_app_c{c}", get_app)
                else:
                    http[f"get_app_c{c}"] = get_app()
                stage(f"  concurrency {c}: healthz {http[f'healthz_c{c}'].rate:,.0f}/s, "
                      f"GET app {http[f'get_app_c{c}'].rate:,.0f}/s")  # fmt: skip
            self.tail("get_config_c16", partial(wrk, api.base, CONCURRENCY, seconds, BENCH / "get_app.lua",
                                                **self.config_env))  # fmt: skip
            http["get_config_by_name_c16"] = wrk(
                api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **self.names_env
            )
            pages = self.app_env | {"PATH_SUFFIX": "/configurations?limit=10"}
            http["list_configs_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **pages)
            self.big_200_and_304(api)
            self.tail("post_app_c16", partial(wrk, api.base, CONCURRENCY, seconds, BENCH / "post_app.lua"))

    def big_200_and_304(self, api: ApiProcess) -> None:
        """The 20 KB configuration (seed_main's) read again and again, answered whole (200) or
        revalidated (304): the two alternate, five times, and each keeps its best run, so that drift
        favours neither; the server's CPU per request in those runs is what each answer costs it.
        The 200's body is checked before and after, and its size recorded: the runs read that document."""
        seconds, http = self.args.seconds, self.results.http
        big = f"{api.base}/api/v1/configurations/{self.big_config_id}"

        def served() -> httpx.Response:
            whole = httpx.get(big)
            whole.raise_for_status()
            assert len(whole.content) >= BIG_BYTES[0], f"the 200 carries {len(whole.content):,} bytes, not 20 KB"
            return whole

        first = served()
        tag = {"If-None-Match": first.headers["etag"]}
        assert httpx.get(big, headers=tag).status_code == 304, "the revalidating GET must be answered 304"
        best: dict[str, Best] = {}
        for _ in range(5):
            for name, headers in (("get_big_200_c16", {}), ("get_big_304_c16", tag)):
                before = cpu_seconds(api.process.pid)
                load = wrk(big, CONCURRENCY, seconds / 2, headers=headers)
                cpu_us = (cpu_seconds(api.process.pid) - before) * 1e6 / (load.rate * round(seconds / 2))
                keep_faster(best, name, Best(load, cpu_us, 0.0))
        assert served().content == first.content, "the 20 KB configuration changed during its runs"
        for name, run in best.items():
            http[name], self.results.cpu_us[name] = run.load, run.cpu_us
        self.results.body_bytes["get_big_200_c16"] = len(first.content)
        stage(f"  the {len(first.content):,}-byte configuration: 200 {http['get_big_200_c16'].rate:,.0f}/s, "
              f"304 {http['get_big_304_c16'].rate:,.0f}/s")  # fmt: skip

    def peer(self) -> None:
        """The API against its peer (bench/peer.py: FastAPI on asyncpg) on the same database,
        alternating, twice per route, each keeping its better run."""
        peer = serving(self.main_dsn, self.workdir / "peer.log", command=("-m", "bench.peer"),
                       POOL_SIZE=str(self.args.pool_size))  # fmt: skip
        with self.api(self.main_dsn, "api-beside-peer.log") as api, peer as other:
            best = alternating({"ours": api, "peer": other}, self.app_env, 2, self.args.seconds / 2)
        for (side, name), run in best.items():
            self.results.http[f"{side}: {name}_c16"] = run.load

    def metrics(self) -> None:
        """GET by id from the API recording its metrics and from one that does not (METRICS=false),
        alternating, four times each (the difference is small beside the noise), each keeping its best run."""
        on = self.api(self.main_dsn, "api-metrics-on.log")
        off = self.api(self.main_dsn, "api-metrics-off.log", METRICS="false")
        with on as with_metrics, off as without:
            on_the_same_cpu(with_metrics.process.pid, without.process.pid)
            servers = {"metrics on": with_metrics, "metrics off": without}
            best = alternating(servers, self.app_env, 4, self.args.seconds / 2, routes=("get_app",))
        for (side, name), run in best.items():
            self.results.http[f"{side}: {name}_c16"] = run.load

    def two_workers(self) -> None:
        seconds, http = self.args.seconds, self.results.http
        with self.api(self.main_dsn, "api2.log", WORKERS="2") as api:
            wrk(f"{api.base}/healthz", CONCURRENCY, 3)  # until both workers serve; not recorded
            http["2 workers: healthz_c16"] = wrk(f"{api.base}/healthz", CONCURRENCY, seconds)
            self.tail("2 workers: get_app_c16", partial(wrk, api.base, CONCURRENCY, seconds, BENCH / "get_app.lua",
                                                        **self.app_env))  # fmt: skip
            http["2 workers: post_app_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "post_app.lua")

    def pgbouncer(self) -> None:
        seconds, http = self.args.seconds, self.results.http
        try:
            bouncer = PgBouncer(self.cluster, "bench")
        except FileNotFoundError:
            self.results.notes.append("PgBouncer not installed (apt-get install pgbouncer): its runs were skipped.")
            return
        try:
            # LISTEN needs a session: the listener goes to the server itself.
            with self.api(bouncer.dsn, "api3.log", LISTEN_DATABASE_URL=self.main_dsn) as api:
                get = wrk(api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **self.app_env)
                http["pgbouncer: get_app_c16"] = get
                http["pgbouncer: post_app_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "post_app.lua")
        finally:
            bouncer.stop()

    def watch(self) -> None:
        """10,000 long-polls held on one configuration, then one change; an event stream's latency."""
        seconds, watch = self.args.seconds, self.results.watch
        raise_open_files_limit()
        config_id = Path(self.config_env["IDS_FILE"]).read_text().split()[0]
        path = f"/api/v1/configurations/{config_id}"
        # Every watcher comes from this one address: let it hold them all (a server holds a quarter
        # of what its open-files limit allows per client address by default).
        one_client = {"MAX_WATCHERS_PER_CLIENT": str(self.args.watchers)}
        with self.api(self.main_dsn, "api5.log", LOG_LEVEL="WARNING", **one_client) as api:
            watched_bytes = len(httpx.get(api.base + path).content)  # what they wait on, as served

            def get() -> Load:
                return wrk(api.base, CONCURRENCY, seconds / 2, BENCH / "get_app.lua", **self.app_env)

            def change() -> None:
                sql(self.main_dsn, f"SELECT config_update('{config_id}', 'changed', '{{\"watched\": true}}')")

            without = get()
            watchers = self.args.watchers
            per_watcher, woken, runs_held = held_and_woken(api, path, watchers, change, lambda: [get(), get()])
            # Without them before and after, with them twice between: each side keeps its better run
            # (as the other stages do), so that drift or a burst on a shared machine favours neither.
            after = get()
            woken_bytes = len(httpx.get(api.base + path).content)  # what each was sent when woken
            without, while_held = fastest(without, after), fastest(*runs_held)
            self.results.http["get_app_c16 beside no watchers (before and after)"] = without
            self.results.http[f"get_app_c16 beside {watchers:,} watchers"] = while_held
            app_id = Path(self.app_env["IDS_FILE"]).read_text().split()[0]
            conn = psycopg2.connect(self.main_dsn)
            conn.autocommit = True

            def update(i: int) -> None:
                with conn.cursor() as cur:
                    cur.execute("SELECT app_update(%s, %s)", (app_id, f"streamed-{i}"))

            try:
                latencies = asyncio.run(stream_latencies(api.base, app_id, update, 200))
            finally:
                conn.close()
        watch.update(
            watchers=watchers,
            watched_bytes=watched_bytes,
            woken_bytes=woken_bytes,
            get_rate_without=without.rate,
            get_rate_with=while_held.rate,
            rss_per_watcher_kb=per_watcher,
            woken_200=woken.statuses.get(200, 0),
            woken_p50_s=woken.p50_s,
            woken_max_s=woken.max_s,
            stream_p50_ms=1000 * sorted(latencies)[len(latencies) // 2],
            stream_p99_ms=1000 * sorted(latencies)[int(len(latencies) * 0.99)],
        )
        stage(f"  {watch['rss_per_watcher_kb']:.1f} KB per watcher; all {watch['woken_200']} woken within "
              f"{watch['woken_max_s']:.3f} s (p50 {watch['woken_p50_s']:.3f}); GET {without.rate:,.0f}/s -> "
              f"{while_held.rate:,.0f}/s; stream p50 {watch['stream_p50_ms']:.1f} ms")  # fmt: skip

    def replica(self) -> None:
        """GET by id read from a streaming standby of the same server: on one machine no faster,
        the point is that nothing is lost."""
        if not isinstance(self.cluster, EmbeddedPostgres):
            self.results.notes.append("With DATABASE_URL, no standby is made: the replica run was skipped.")
            return
        standby = self.cluster.standby(
            self.cluster.root.parent / f"{self.cluster.root.name}-standby", self.cluster.port
        )
        standby.start()
        try:
            with self.api(self.main_dsn, "api6.log", READ_DATABASE_URLS=standby.dsn("bench")) as api:
                wrk(api.base, CONCURRENCY, 2, BENCH / "get_app.lua", **self.app_env)  # warm its pool; not recorded
                self.results.http["replica: get_app_c16"] = wrk(
                    api.base, CONCURRENCY, self.args.seconds, BENCH / "get_app.lua", **self.app_env
                )
                reads = sql(standby.dsn("bench"), "SELECT sum(xact_commit) FROM pg_stat_database")[0][0]
                self.results.notes.append(
                    f"The standby committed {reads:,} transactions: the replica run read from it."
                )
        finally:
            standby.remove()

    def listing(self) -> None:
        list_dsn = prepare(self.cluster, "bench_list")
        seed_list(list_dsn, self.args.list_rows)
        with self.api(list_dsn, "api4.log") as api:
            httpx.get(f"{api.base}/api/v1/applications?limit=10").raise_for_status()  # warm
            # The two alternate, three times, each keeping its fastest run (a listing takes two
            # seconds: a burst on a shared machine decided single runs); memory and the first
            # byte are the worst any run saw.
            lists, copies = [], []
            for _ in range(3):
                lists.append(measure_list(api))
                copies.append(measure_copy(self.cluster, list_dsn))
            worst = {
                "ttfb_s": max(run["ttfb_s"] for run in lists),
                "rss_growth_mb": max(run["rss_growth_mb"] for run in lists),
            }
            listed = max(lists, key=lambda run: run["rows_per_s"]) | worst
            self.results.listing = listed | max(copies, key=lambda run: run["copy_rows_per_s"])

    def tricks(self) -> None:
        """Each speed trick on and off in two servers that alternate, as `python -m bench.tricks` does,
        on this run's database: its watchers' count, half its load runs' length."""
        seeded = tricks.Seeded(
            self.main_dsn,
            self.app_env,
            Path(self.config_env["IDS_FILE"]).read_text().split()[0],
            self.workdir,
            self.args.pool_size,
        )
        rounds, seconds, watchers = tricks.ROUNDS, self.args.seconds / 2, self.args.watchers
        self.results.tricks = tricks.measure(
            list(tricks.TRICKS), seeded, rounds=rounds, seconds=seconds, watchers=watchers
        )
        if not tricks.honoured():
            self.results.notes.append(tricks.UNHONOURED)

    def revisions(self) -> None:
        """What revisions cost a write: POST, PUT and GET by id of the last tree before them
        (BEFORE_REVISIONS) and of HEAD, each served from its own worktree on a database its own
        migrations made and seed_main seeded alike, alternating, each keeping its best run; the same
        writes by pgbench, the database alone; then the revisions table after a soak of updates."""
        revisions.measure(self.cluster, self.args, self.workdir, self.results, self.api)


# The stages in order: what each measures, its method, and when it runs.
STAGES: list[tuple[str, Callable[[Bench], None], Callable[[argparse.Namespace], bool]]] = [
    ("seeding the applications, three configurations each, and one of 20 KB", Bench.seed, lambda args: True),
    ("database ceiling: pgbench app_get, config_get and app_create", Bench.database_ceiling, lambda args: True),
    ("HTTP ceiling and the API: one uvicorn worker, wrk; 200 and 304 of 20 KB", Bench.one_worker, lambda args: True),
    ("the API beside its peer, FastAPI on asyncpg (bench/peer.py)", Bench.peer, lambda args: True),
    ("the cost of metrics: GET by id with and without them", Bench.metrics, lambda args: True),
    ("two uvicorn workers", Bench.two_workers, lambda args: not args.quick),
    ("through PgBouncer in transaction pooling", Bench.pgbouncer, lambda args: not args.quick),
    ("watchers: long-polls held and woken, an event stream", Bench.watch, lambda args: bool(args.watchers)),
    ("a streaming standby serving GET by id", Bench.replica, lambda args: not args.quick),
    ("listing every application: the API, then COPY as JSON", Bench.listing, lambda args: bool(args.list_rows)),
    ("revisions: writes and reads before them and after; their storage", Bench.revisions, lambda args: not args.quick),
    ("every speed trick on and off, on its own stage (bench/tricks.py)", Bench.tricks, lambda args: args.tricks),
]

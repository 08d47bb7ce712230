"""`make bench`: the API measured against its two ceilings, on this machine, in one run.

- the database ceiling: pgbench calling the same functions directly (`-M simple`, as psycopg2);
- the HTTP ceiling: the same API process answering /healthz, which does no database work;
- the API: wrk against GET and POST, at concurrency 16 and a sweep for GET;
- listing 1,000,000 applications against COPY of the same rows as JSON;
- two uvicorn workers, and the API behind PgBouncer in transaction pooling;
- 10,000 long-polls on one configuration, and an event stream's latency from psql;
- GET by id served by a streaming standby (READ_DATABASE_URLS), next to the primary's.

Prints a line per stage, then the table; writes it as markdown, JSON and a PNG chart
under results/ (git-ignored). Uses a throw-away embedded PostgreSQL 16, or the server
DATABASE_URL (or --database-url) names, where it creates and then drops two databases.
"""

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg2

import migrator
from bench.watchers import LongPolls, stream_latencies
from devtools.api_process import ApiProcess, free_port
from devtools.embedded import EmbeddedPostgres, as_user, binaries, run_as, throwaway_cluster
from settings import PROJECT_ROOT as ROOT

BENCH = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
DOCS = ROOT / "docs"
SWEEP = (1, 4, 16, 64)
CONCURRENCY = 16
TARGETS = {
    "get_vs_http": 0.30,
    "get_vs_db": 0.12,
    "post_vs_db": 0.12,
    "p99_over_p50": 4.0,
    "list_rss_mb": 50.0,
    "list_ttfb_s": 1.0,
    "list_vs_copy": 0.5,
    "by_name_vs_by_id": 0.8,
    "304_vs_200": 1.0,
    "watcher_rss_kb": 20.0,
    "watchers_woken_s": 1.0,
    "get_with_watchers": 0.8,
    "stream_p50_ms": 20.0,
    "vs_peer": 0.8,
    "metrics_on_vs_off": 0.95,
}
WATCHERS = 10_000
# What the API and its peer (bench/peer.py) both serve, compared in one stage and by bench.ladder.
PEER_ROUTES = ("healthz", "get_app", "post_app")


def stage(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


@dataclass
class Load:
    """One load run: requests (or transactions) per second and latencies in ms."""

    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    non_2xx: int = 0
    errors: int = 0


@dataclass
class Results:
    started: str
    machine: str
    seconds_per_run: float
    http: dict[str, Load] = field(default_factory=dict)
    database: dict[str, Load] = field(default_factory=dict)
    listing: dict[str, float] = field(default_factory=dict)
    watch: dict[str, float] = field(default_factory=dict)
    cpu_us: dict[str, float] = field(default_factory=dict)  # the server's CPU per request, by run
    notes: list[str] = field(default_factory=list)


# -- parsing the tools' output ---------------------------------------------------------------


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(output: str) -> Load:
    """Requests/s, p50, p99, non-2xx and socket errors from `wrk --latency` output."""
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1])
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return Load(
        rate=rate,
        p50_ms=_ms(p50[1]) if p50 else None,
        p99_ms=_ms(p99[1]) if p99 else None,
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def parse_pgbench(output: str) -> Load:
    """Transactions/s (without connection time) and mean latency from pgbench's summary."""
    rate = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", output)[1])
    latency = re.search(r"latency average = ([\d.]+) ms", output)
    failed = re.search(r"number of failed transactions: (\d+)", output)
    return Load(rate=rate, p50_ms=float(latency[1]) if latency else None, errors=int(failed[1]) if failed else 0)


# -- the pieces under test -------------------------------------------------------------------


def wrk(
    url: str,
    connections: int,
    seconds: float,
    script: Path | None = None,
    headers: dict[str, str] | None = None,
    **env: str,
) -> Load:
    threads = max(1, min(2, connections))
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--latency", url]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=True)
    return parse_wrk(result.stdout)


def pgbench(
    cluster: "EmbeddedPostgres | ExternalServer", dbname: str, script: str, clients: int, seconds: float
) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        result = subprocess.run(
            [str(cluster.bin / "pgbench"), "-n", "-M", "simple", "-c", str(clients), "-j", str(min(clients, 2)),
             "-T", str(round(seconds)), "-f", file.name, cluster.dsn(dbname)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return parse_pgbench(result.stdout)
    finally:
        os.unlink(file.name)


def sql(dsn: str, statement: str) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class ExternalServer:
    """The server DATABASE_URL names: the bench makes its two databases there and drops them after.

    It offers what the bench uses of an EmbeddedPostgres: client binaries, DSNs, databases.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.user = run_as("postgres")  # for PgBouncer, which refuses root
        self.bin = binaries(self.user)
        self.params = psycopg2.extensions.parse_dsn(url)
        self.created: list[str] = []

    def dsn(self, dbname: str) -> str:
        return psycopg2.extensions.make_dsn(self.url, dbname=dbname)

    def pgbouncer_target(self, dbname: str) -> str:
        keep = {k: v for k, v in self.params.items() if k in ("host", "port", "user", "password")}
        return psycopg2.extensions.make_dsn(**keep, dbname=dbname)

    def create_database(self, dbname: str, template: str = "template0") -> None:
        sql(self.url, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        sql(self.url, f"CREATE DATABASE {dbname} TEMPLATE {template}")
        self.created.append(dbname)

    def remove(self) -> None:
        for dbname in self.created:
            sql(self.url, f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")


# -- stages ---------------------------------------------------------------------------------


def prepare(cluster: "EmbeddedPostgres | ExternalServer", dbname: str) -> str:
    cluster.create_database(dbname, template="template0")
    dsn = cluster.dsn(dbname)
    conn = migrator.connect(dsn)
    try:
        migrator.up(conn, say=lambda line: None)
    finally:
        conn.close()
    return dsn


def seed_main(dsn: str, applications: int, workdir: Path) -> tuple[Path, Path]:
    """Applications with three small configurations each; files of their ids for wrk."""
    sql(dsn, f"""
        INSERT INTO applications (id, name, comments)
        SELECT app_private.ulid_generate(), 'app-' || n, 'seeded by make bench'
          FROM generate_series(1, {applications}) n;
        INSERT INTO configurations (id, application_id, name, comments, config)
        SELECT app_private.ulid_generate(), a.id, 'config-' || k, NULL,
               jsonb_build_object('replicas', k, 'region', 'eu-west-1', 'debug', false,
                                  'tags', jsonb_build_array('a', 'b'))
          FROM applications a, generate_series(1, 3) k;
        CREATE SCHEMA bench;
        CREATE TABLE bench.app_ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM applications;
        CREATE TABLE bench.config_ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM configurations;
        ALTER TABLE bench.app_ids ADD PRIMARY KEY (n);
        ALTER TABLE bench.config_ids ADD PRIMARY KEY (n);
        ANALYZE;
    """)  # fmt: skip
    app_ids, config_ids = workdir / "app_ids.txt", workdir / "config_ids.txt"
    app_ids.write_text("\n".join(row[0] for row in sql(dsn, "SELECT id FROM bench.app_ids ORDER BY n")) + "\n")
    config_ids.write_text("\n".join(row[0] for row in sql(dsn, "SELECT id FROM bench.config_ids ORDER BY n")) + "\n")
    # What a consuming service asks for: application and configuration by names.
    names = (f"app-{n}/configurations/config-{k}" for n in range(1, applications + 1) for k in (1, 2, 3))
    (workdir / "config_names.txt").write_text("\n".join(names) + "\n")
    return app_ids, config_ids


def seed_list(dsn: str, applications: int) -> None:
    sql(dsn, f"""
        INSERT INTO applications (id, name, comments)
        SELECT app_private.ulid_generate(), 'listed-' || n, CASE WHEN n % 2 = 0 THEN 'an even one' END
          FROM generate_series(1, {applications}) n;
    """)  # fmt: skip
    sql(dsn, "VACUUM ANALYZE applications")  # VACUUM must be a statement of its own


def raise_open_files_limit() -> None:
    """The client's end of every watcher is a socket too: take all the open files the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError) as exc:
            stage(f"  the open files limit stays {soft}: {exc}")


def cpu_seconds(pid: int) -> float:
    utime, stime = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
    return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")


def counters(pid: int) -> tuple[float, int]:
    """A process's CPU seconds so far, and its context switches, voluntary or not, in every thread."""
    switches = sum(
        int(count)
        for status in Path(f"/proc/{pid}/task").glob("*/status")
        for count in re.findall(r"^(?:non)?voluntary_ctxt_switches:\s+(\d+)", status.read_text(), re.M)
    )
    return cpu_seconds(pid), switches


@dataclass
class Best:
    """A server's best run of a route, and what each request cost its process in that run."""

    load: Load
    cpu_us: float
    switches: float


def fastest(*runs: Load) -> Load:
    """The run with the best rate, carrying every run's non-2xx answers and errors: a run left out
    still counts in "non-2xx answers and socket errors, all runs"."""
    best = max(runs, key=lambda run: run.rate)
    return replace(best, non_2xx=sum(run.non_2xx for run in runs), errors=sum(run.errors for run in runs))


def keep_faster[K](best: dict[K, Best], key: K, run: Best) -> None:
    """Keep under `key` the faster of `run` and the run kept there, with both runs' failures."""
    kept = best.get(key)
    if kept is None or run.load.rate > kept.load.rate:
        best[key] = run
    if kept is not None:
        best[key].load = fastest(kept.load, run.load)


def peer_routes(app_env: dict[str, str]) -> dict[str, tuple[str, Path | None, dict[str, str]]]:
    """Each of PEER_ROUTES as wrk drives it: a path, a Lua script and the script's environment."""
    return {
        "healthz": ("/healthz", None, {}),
        "get_app": ("", BENCH / "get_app.lua", app_env),
        "post_app": ("", BENCH / "post_app.lua", {}),
    }


def alternating(
    servers: dict[str, ApiProcess],
    app_env: dict[str, str],
    rounds: int,
    seconds: float,
    routes: tuple[str, ...] = PEER_ROUTES,
) -> dict[tuple[str, str], Best]:
    """Each of `routes` (of PEER_ROUTES) against each server in turn, `rounds` times over; each
    server keeps its best run of each route, so that drift on a shared machine favours none."""
    best: dict[tuple[str, str], Best] = {}
    for name, (path, script, env) in peer_routes(app_env).items():
        if name not in routes:
            continue
        for _ in range(rounds):
            for server, api in servers.items():
                before = counters(api.process.pid)
                load = wrk(api.base + path, CONCURRENCY, seconds, script, **env)
                after = counters(api.process.pid)
                requests = load.rate * round(seconds)  # wrk runs whole seconds
                cpu_us, switches = (after[0] - before[0]) * 1e6 / requests, (after[1] - before[1]) / requests
                keep_faster(best, (server, name), Best(load, cpu_us, switches))
        stage(f"  {name}: " + ", ".join(f"{server} {best[server, name].load.rate:,.0f}/s" for server in servers))
    return best


def on_the_same_cpu(pinned: int, other: int) -> None:
    """Move every thread of `other` to the one CPU that `pinned` keeps to, when both keep to one
    (PIN_CPU), so that an A/B of two such servers does not also compare the CPUs they started on."""
    cpus = os.sched_getaffinity(pinned)
    if len(cpus) == 1 and len(os.sched_getaffinity(other)) == 1:
        for task in Path(f"/proc/{other}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)


def until_idle(pid: int, quiet_s: float = 0.5, timeout_s: float = 60) -> None:
    """Until the process has used no CPU for `quiet_s`: every request it was sent is being held."""
    deadline = time.monotonic() + timeout_s
    last = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = cpu_seconds(pid)
        if now - last < 0.01:
            return
        last = now
    raise RuntimeError("the API never went idle")


def rss_kb(pid: int, field_name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field_name}:\s+(\d+) kB", status, re.M)[1])


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


def measure_copy(cluster: "EmbeddedPostgres | ExternalServer", dsn: str) -> dict[str, float]:
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


class PgBouncer:
    """PgBouncer in transaction pooling in front of the server, run as an unprivileged OS user if we are root."""

    def __init__(self, server: "EmbeddedPostgres | ExternalServer", dbname: str) -> None:
        binary = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
        if not Path(binary).exists():
            raise FileNotFoundError("pgbouncer")
        if isinstance(server, ExternalServer):
            target, user = server.pgbouncer_target(dbname), server.params.get("user", "postgres")
        else:
            target, user = f"host={server.socket_dir} port={server.port} user=postgres dbname={dbname}", "postgres"
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="appconfig-pgbouncer-", dir="/tmp"))
        (self.dir / "users.txt").write_text(f'"{user}" ""\n')
        (self.dir / "pgbouncer.ini").write_text(
            f"[databases]\n{dbname} = {target}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.dir / 'users.txt'}\npool_mode = transaction\n"
            f"default_pool_size = 20\nmax_client_conn = 500\nlogfile = {self.dir / 'pgbouncer.log'}\n"
            "ignore_startup_parameters = extra_float_digits\n"
        )
        if server.user is not None:
            shutil.chown(self.dir, server.user)
            for path in self.dir.iterdir():
                shutil.chown(path, server.user)
        self.process = subprocess.Popen(
            [binary, "--quiet", str(self.dir / "pgbouncer.ini")],
            **as_user(server.user),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.dsn = f"host=127.0.0.1 port={self.port} user={user} dbname={dbname}"
        deadline = time.monotonic() + 10
        while True:
            try:
                sql(self.dsn, "SELECT 1")
                return
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


# -- the report -----------------------------------------------------------------------------


def ratios(results: Results) -> dict[str, float]:
    http, db, listing = results.http, results.database, results.listing
    out = {
        "get_app_vs_http": http["get_app_c16"].rate / http["healthz_c16"].rate,
        "get_app_vs_db": http["get_app_c16"].rate / db["app_get_c16"].rate,
        "get_config_vs_http": http["get_config_c16"].rate / http["healthz_c16"].rate,
        "get_config_vs_db": http["get_config_c16"].rate / db["config_get_c16"].rate,
        "post_app_vs_db": http["post_app_c16"].rate / db["app_create_c16"].rate,
        "get_config_by_name_vs_by_id": http["get_config_by_name_c16"].rate / http["get_config_c16"].rate,
        "get_config_by_name_vs_http": http["get_config_by_name_c16"].rate / http["healthz_c16"].rate,
        "list_configs_vs_http": http["list_configs_c16"].rate / http["healthz_c16"].rate,
        "get_304_vs_200": http["get_one_304_c16"].rate / http["get_one_200_c16"].rate,
    }
    if "get_one_304_c16" in results.cpu_us:
        cpu = results.cpu_us
        out["get_304_vs_200_cpu_per_request"] = cpu["get_one_304_c16"] / cpu["get_one_200_c16"]
    for name in PEER_ROUTES:
        if f"peer: {name}_c16" in http:  # "ours:" ran beside it, alternating
            out[f"{name}_vs_peer"] = http[f"ours: {name}_c16"].rate / http[f"peer: {name}_c16"].rate
    if "metrics off: get_app_c16" in http:
        out["get_app_metrics_on_vs_off"] = http["metrics on: get_app_c16"].rate / http["metrics off: get_app_c16"].rate
    if listing:
        out["list_vs_copy"] = listing["rows_per_s"] / listing["copy_rows_per_s"]
    if "replica: get_app_c16" in http:
        out["get_app_standby_vs_primary"] = http["replica: get_app_c16"].rate / http["get_app_c16"].rate
    if results.watch:
        out["get_with_watchers_vs_without"] = results.watch["get_rate_with"] / results.watch["get_rate_without"]
    return out


def verdicts(results: Results) -> list[tuple[str, str, str, bool]]:
    r = ratios(results)
    http, listing = results.http, results.listing
    checks = [
        ("GET app / HTTP ceiling", f"{r['get_app_vs_http']:.2f}", f">= {TARGETS['get_vs_http']}",
         r["get_app_vs_http"] >= TARGETS["get_vs_http"]),
        ("GET app / database ceiling", f"{r['get_app_vs_db']:.2f}", f">= {TARGETS['get_vs_db']}",
         r["get_app_vs_db"] >= TARGETS["get_vs_db"]),
        ("POST app / pgbench app_create", f"{r['post_app_vs_db']:.2f}", f">= {TARGETS['post_vs_db']}",
         r["post_app_vs_db"] >= TARGETS["post_vs_db"]),
        ("GET configuration by name / by id", f"{r['get_config_by_name_vs_by_id']:.2f}",
         f">= {TARGETS['by_name_vs_by_id']}", r["get_config_by_name_vs_by_id"] >= TARGETS["by_name_vs_by_id"]),
        ("GET answered 304 / answered 200", f"{r['get_304_vs_200']:.2f}", f">= {TARGETS['304_vs_200']}",
         r["get_304_vs_200"] >= TARGETS["304_vs_200"]),
    ]  # fmt: skip
    for name in PEER_ROUTES:
        if f"{name}_vs_peer" in r:
            checks.append((f"{name} / the peer's (FastAPI on asyncpg)", f"{r[f'{name}_vs_peer']:.2f}",
                           f">= {TARGETS['vs_peer']}", r[f"{name}_vs_peer"] >= TARGETS["vs_peer"]))  # fmt: skip
    if "get_304_vs_200_cpu_per_request" in r:
        cpu = r["get_304_vs_200_cpu_per_request"]
        checks.append(("GET answered 304: the server's CPU per request / 200's", f"{cpu:.2f}", "< 1", cpu < 1))
    if "get_app_metrics_on_vs_off" in r:
        checks.append(("GET app with metrics / without", f"{r['get_app_metrics_on_vs_off']:.2f}",
                       f">= {TARGETS['metrics_on_vs_off']}",
                       r["get_app_metrics_on_vs_off"] >= TARGETS["metrics_on_vs_off"]))  # fmt: skip
    for name in ("get_app_c16", "get_config_c16", "post_app_c16"):
        load = http[name]
        ratio = load.p99_ms / load.p50_ms
        checks.append((f"{name}: p99 / p50", f"{ratio:.1f}", f"<= {TARGETS['p99_over_p50']}", ratio <= 4.0))
    non_2xx = sum(load.non_2xx + load.errors for load in http.values())
    checks.append(("non-2xx answers and socket errors, all runs", str(non_2xx), "0", non_2xx == 0))
    if results.watch:
        w = results.watch
        checks += [
            (f"{w['watchers']:,.0f} long-polls: RSS per watcher (KB)", f"{w['rss_per_watcher_kb']:.1f}",
             f"<= {TARGETS['watcher_rss_kb']:g}", w["rss_per_watcher_kb"] <= TARGETS["watcher_rss_kb"]),
            ("all answered 200 after one change: last (s)", f"{w['woken_max_s']:.3f} (p50 {w['woken_p50_s']:.3f})",
             f"<= {TARGETS['watchers_woken_s']:g}, all 200",
             w["woken_max_s"] <= TARGETS["watchers_woken_s"] and w["woken_200"] == w["watchers"]),
            ("GET app beside them / without", f"{r['get_with_watchers_vs_without']:.2f}",
             f">= {TARGETS['get_with_watchers']}", r["get_with_watchers_vs_without"] >= TARGETS["get_with_watchers"]),
            ("event stream: psql change to event, p50 (ms)", f"{w['stream_p50_ms']:.1f}",
             f"<= {TARGETS['stream_p50_ms']:g}", w["stream_p50_ms"] <= TARGETS["stream_p50_ms"]),
        ]  # fmt: skip
    if listing:
        checks += [
            ("list 1M: peak RSS growth (MB)", f"{listing['rss_growth_mb']:.1f}", f"<= {TARGETS['list_rss_mb']:g}",
             listing["rss_growth_mb"] <= TARGETS["list_rss_mb"]),
            ("list 1M: time to first byte (s)", f"{listing['ttfb_s']:.3f}", f"<= {TARGETS['list_ttfb_s']:g}",
             listing["ttfb_s"] <= TARGETS["list_ttfb_s"]),
            ("list 1M: rows/s / COPY rows/s", f"{r['list_vs_copy']:.2f}", f">= {TARGETS['list_vs_copy']}",
             r["list_vs_copy"] >= TARGETS["list_vs_copy"]),
        ]  # fmt: skip
    return checks


def _shown_ms(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}"


def runs_markdown(results: Results) -> str:
    """Every load run: HTTP (wrk) and database (pgbench)."""
    lines = ["| run | rate (/s) | p50 (ms) | p99 (ms) | non-2xx | errors |", "|---|---:|---:|---:|---:|---:|"]
    for name, load in results.http.items():
        latency = f"{_shown_ms(load.p50_ms)} | {_shown_ms(load.p99_ms)}"
        lines.append(f"| HTTP {name} | {load.rate:,.0f} | {latency} | {load.non_2xx} | {load.errors} |")
    for name, load in results.database.items():
        lines.append(f"| pgbench {name} | {load.rate:,.0f} | {_shown_ms(load.p50_ms)} (mean) | | | {load.errors} |")
    return "\n".join(lines) + "\n"


def markdown(results: Results) -> str:
    lines = [
        f"Benchmark of {results.started} on {results.machine}; {results.seconds_per_run:g} s per run "
        f"({results.seconds_per_run / 2:g} s for the runs that alternate to keep their best).",
        "",
        runs_markdown(results).rstrip(),
    ]
    if results.listing:
        l = results.listing  # noqa: E741
        lines += [
            "",
            f"| listing {l['rows']:,.0f} applications | API | COPY ceiling |",
            "|---|---:|---:|",
            f"| rows | {l['rows']:,.0f} | {l['copy_rows']:,.0f} |",
            f"| total (s) | {l['total_s']:.2f} | {l['copy_total_s']:.2f} |",
            f"| rows/s | {l['rows_per_s']:,.0f} | {l['copy_rows_per_s']:,.0f} |",
            f"| time to first byte (s) | {l['ttfb_s']:.3f} | |",
            f"| bytes | {l['bytes']:,.0f} | |",
            f"| peak RSS above idle (MB) | {l['rss_growth_mb']:.1f} | |",
        ]
    if results.watch:
        w = results.watch
        lines += [
            "",
            f"| {w['watchers']:,.0f} long-polls on one configuration | value |",
            "|---|---:|",
            f"| RSS per waiting watcher (KB) | {w['rss_per_watcher_kb']:.1f} |",
            f"| answered 200 after one change | {w['woken_200']:,.0f} |",
            f"| time to the first half / the last (s) | {w['woken_p50_s']:.3f} / {w['woken_max_s']:.3f} |",
            f"| GET app/s without them / while they wait | {w['get_rate_without']:,.0f} / {w['get_rate_with']:,.0f} |",
            f"| event stream, psql change to event: p50 / p99 (ms) | {w['stream_p50_ms']:.1f} / "
            f"{w['stream_p99_ms']:.1f} |",
        ]
    lines += ["", "| ratio | value |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in ratios(results).items()]
    lines += ["", targets_markdown(results).rstrip()]
    if results.notes:
        lines += [""] + [f"- {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def targets_markdown(results: Results) -> str:
    lines = ["| target | measured | goal | met |", "|---|---:|---|---|"]
    lines += [f"| {n} | {m} | {g} | {'yes' if ok else 'NO'} |" for n, m, g, ok in verdicts(results)]
    return "\n".join(lines) + "\n"


def replace_between_markers(path: Path, name: str, text: str) -> None:
    """Put `text` between `<!-- name:start -->` and `<!-- name:end -->`, the only part of `path` it changes.

    Each marker must be there exactly once, start before end; otherwise nothing is written.
    """
    document = path.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if document.count(start) != 1 or document.count(end) != 1 or document.index(start) > document.index(end):
        raise ValueError(f"{path} must hold {start} and then {end}, once each")
    head, rest = document.split(start)
    _, tail = rest.split(end)
    path.write_text(f"{head}{start}\n{text.rstrip()}\n{end}{tail}")


def publish(results: Results, chart_path: Path, docs: Path = DOCS) -> None:
    """The latest full run into `docs`: every table in benchmarks.md, the targets with them, and the
    chart beside it. Nothing else: the README only links to them."""
    replace_between_markers(docs / "benchmarks.md", "bench:results", markdown(results))
    shutil.copyfile(chart_path, docs / "bench-get-sweep.png")


def chart(results: Results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 5))
    sweep = [c for c in SWEEP if f"get_app_c{c}" in results.http]
    series = {
        "GET /applications/{id} (API)": [results.http[f"get_app_c{c}"].rate for c in sweep],
        "HTTP ceiling (/healthz)": [results.http[f"healthz_c{c}"].rate for c in sweep],
        "database ceiling (pgbench app_get)": [results.database[f"app_get_c{c}"].rate for c in sweep],
    }
    for (label, rates), style in zip(series.items(), ("o-", "s--", "^--"), strict=True):
        axes.plot(sweep, rates, style, label=label)
    axes.set_xscale("log", base=2)
    axes.set_xticks(sweep, [str(c) for c in sweep])
    axes.set_xlabel("concurrent connections")
    axes.set_ylabel("requests (transactions) per second")
    axes.set_title("GET by id against its ceilings, one machine, one uvicorn worker")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# -- the run --------------------------------------------------------------------------------


@contextmanager
def serving(dsn: str, log: Path, *, command: tuple[str, ...] = ("-m", "api"), **settings: str) -> Iterator[ApiProcess]:
    api = ApiProcess(dsn, log, command=command, **settings)
    try:
        yield api
    finally:
        api.stop()


@dataclass
class Bench:
    """One run: the server, what was seeded in it, and the results so far. Each stage is a method."""

    args: argparse.Namespace
    cluster: "EmbeddedPostgres | ExternalServer"
    workdir: Path
    results: Results
    main_dsn: str = ""
    app_env: dict[str, str] = field(default_factory=dict)
    config_env: dict[str, str] = field(default_factory=dict)
    names_env: dict[str, str] = field(default_factory=dict)

    @property
    def sweep(self) -> tuple[int, ...]:
        return (CONCURRENCY,) if self.args.quick else SWEEP

    def api(self, dsn: str, log_name: str, **settings: str) -> AbstractContextManager[ApiProcess]:
        pool = str(self.args.pool_size)
        return serving(dsn, self.workdir / log_name, POOL_MIN_SIZE=pool, POOL_MAX_SIZE=pool, **settings)

    def seed(self) -> None:
        self.main_dsn = prepare(self.cluster, "bench")
        app_ids, config_ids = seed_main(self.main_dsn, self.args.applications, self.workdir)
        self.app_env = {"IDS_FILE": str(app_ids), "PATH_PREFIX": "/api/v1/applications/"}
        self.config_env = {"IDS_FILE": str(config_ids), "PATH_PREFIX": "/api/v1/configurations/"}
        names = self.workdir / "config_names.txt"
        self.names_env = {"IDS_FILE": str(names), "PATH_PREFIX": "/api/v1/applications/by-name/"}

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
                http[f"get_app_c{c}"] = wrk(api.base, c, seconds, BENCH / "get_app.lua", **self.app_env)
                stage(f"  concurrency {c}: healthz {http[f'healthz_c{c}'].rate:,.0f}/s, "
                      f"GET app {http[f'get_app_c{c}'].rate:,.0f}/s")  # fmt: skip
            http["get_config_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **self.config_env)
            http["get_config_by_name_c16"] = wrk(
                api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **self.names_env
            )
            pages = self.app_env | {"PATH_SUFFIX": "/configurations?limit=10"}
            http["list_configs_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **pages)
            # One configuration read again and again, answered whole (200) or revalidated (304): the
            # two alternate, five times, and each keeps its best run, so that drift favours neither;
            # the server's CPU per request in those runs is what each answer costs it.
            one = f"{api.base}/api/v1/configurations/{Path(self.config_env['IDS_FILE']).read_text().split()[0]}"
            tag = {"If-None-Match": httpx.get(one).headers["etag"]}
            assert httpx.get(one, headers=tag).status_code == 304, "the revalidating GET must be answered 304"
            best: dict[str, Best] = {}
            for _ in range(5):
                for name, headers in (("get_one_200_c16", {}), ("get_one_304_c16", tag)):
                    before = cpu_seconds(api.process.pid)
                    load = wrk(one, CONCURRENCY, seconds / 2, headers=headers)
                    cpu_us = (cpu_seconds(api.process.pid) - before) * 1e6 / (load.rate * round(seconds / 2))
                    keep_faster(best, name, Best(load, cpu_us, 0.0))
            for name, run in best.items():
                http[name], self.results.cpu_us[name] = run.load, run.cpu_us
            http["post_app_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "post_app.lua")

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
            http["2 workers: get_app_c16"] = wrk(api.base, CONCURRENCY, seconds, BENCH / "get_app.lua", **self.app_env)
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
        with self.api(self.main_dsn, "api5.log", LOG_LEVEL="WARNING") as api:
            pid = api.process.pid
            etag = httpx.get(api.base + path).headers["etag"]
            without = wrk(api.base, CONCURRENCY, seconds / 2, BENCH / "get_app.lua", **self.app_env)
            until_idle(pid)
            idle = rss_kb(pid, "VmRSS")

            def change() -> None:
                sql(self.main_dsn, f"SELECT config_update('{config_id}', 'changed', '{{\"watched\": true}}')")

            async def held_then_woken() -> tuple[int, list[Load], object]:
                polls = LongPolls(api.base, path, etag, self.args.watchers)
                await polls.open()
                await asyncio.to_thread(until_idle, pid)
                holding = rss_kb(pid, "VmRSS")
                runs = [
                    await asyncio.to_thread(
                        wrk, api.base, CONCURRENCY, seconds / 2, BENCH / "get_app.lua", **self.app_env
                    )
                    for _ in range(2)
                ]
                return holding, runs, await polls.woken(change)

            holding, runs_held, woken = asyncio.run(held_then_woken())
            # Without them before and after, with them twice between: each side keeps its better run
            # (as the other stages do), so that drift or a burst on a shared machine favours neither.
            after = wrk(api.base, CONCURRENCY, seconds / 2, BENCH / "get_app.lua", **self.app_env)
            without, while_held = fastest(without, after), fastest(*runs_held)
            self.results.http["get_app_c16 beside no watchers (before and after)"] = without
            self.results.http[f"get_app_c16 beside {self.args.watchers:,} watchers"] = while_held
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
            watchers=self.args.watchers,
            get_rate_without=without.rate,
            get_rate_with=while_held.rate,
            rss_per_watcher_kb=(holding - idle) / self.args.watchers,
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


# The stages in order: what each measures, its method, and when it runs.
STAGES: list[tuple[str, Callable[[Bench], None], Callable[[argparse.Namespace], bool]]] = [
    ("seeding the applications, three configurations each", Bench.seed, lambda args: True),
    ("database ceiling: pgbench app_get, config_get and app_create", Bench.database_ceiling, lambda args: True),
    ("HTTP ceiling and the API: one uvicorn worker, wrk", Bench.one_worker, lambda args: True),
    ("the API beside its peer, FastAPI on asyncpg (bench/peer.py)", Bench.peer, lambda args: True),
    ("the cost of metrics: GET by id with and without them", Bench.metrics, lambda args: True),
    ("two uvicorn workers", Bench.two_workers, lambda args: not args.quick),
    ("through PgBouncer in transaction pooling", Bench.pgbouncer, lambda args: not args.quick),
    ("watchers: long-polls held and woken, an event stream", Bench.watch, lambda args: bool(args.watchers)),
    ("a streaming standby serving GET by id", Bench.replica, lambda args: not args.quick),
    ("listing every application: the API, then COPY as JSON", Bench.listing, lambda args: bool(args.list_rows)),
]


def run(args: argparse.Namespace) -> Results:
    results = Results(
        started=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        machine=f"{os.cpu_count()} cores, {os.uname().machine}, PostgreSQL 16 and the API on the same host",
        seconds_per_run=args.seconds,
    )
    if args.database_url:
        stage("using the server DATABASE_URL names (databases bench and bench_list, dropped after)")
        cluster: EmbeddedPostgres | ExternalServer = ExternalServer(args.database_url)
    else:
        stage("starting a throw-away PostgreSQL 16")
        cluster = throwaway_cluster()
        cluster.init()
        cluster.start()
    bench = Bench(args, cluster, Path(tempfile.mkdtemp(prefix="appconfig-bench-")), results)
    try:
        for description, method, wanted in STAGES:
            if method is Bench.seed or (method.__name__ in args.only if args.only else wanted(args)):
                stage(description)
                method(bench)
        return results
    finally:
        cluster.remove()
        shutil.rmtree(bench.workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=8, help="duration of each load run")
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--list-rows", type=int, default=1_000_000, help="0 skips the listing test")
    parser.add_argument("--watchers", type=int, default=WATCHERS, help="long-polls held at once; 0 skips them")
    parser.add_argument("--pool-size", type=int, default=16, help="POOL_MIN_SIZE = POOL_MAX_SIZE of the API")
    parser.add_argument("--quick", action="store_true", help="concurrency 16 only; no sweep, workers or PgBouncer")
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
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("make bench needs wrk: apt-get install wrk (Debian), then run it again.", file=sys.stderr)
        return 2

    started = time.monotonic()
    results = run(args)
    if args.only:
        print("\n" + runs_markdown(results))
        return 0
    table = markdown(results)
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

"""What the bench runs its measurements on, and how it watches the processes under test.

- the database: a throw-away embedded PostgreSQL 16 or the server DATABASE_URL names
  (`ExternalServer`), migrated (`prepare`) and seeded (`seed_main`, `seed_list`);
- the servers: the API (or the peer) served in a process of its own (`serving`), PgBouncer;
- /proc sampling of a server's process: CPU seconds, context switches, RSS, idleness, its CPU.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

import migrator
from devtools.api_process import ApiProcess, free_port
from devtools.embedded import EmbeddedPostgres, as_user, binaries, run_as, throwaway_cluster
from settings import PROJECT_ROOT


def stage(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> str:
    return f"{os.cpu_count()} cores, {os.uname().machine}, PostgreSQL 16 and the API on the same host"


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
    """The server DATABASE_URL names: the bench makes its databases there and drops them after.

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


type Cluster = EmbeddedPostgres | ExternalServer


@contextmanager
def database_server(database_url: str) -> Iterator[Cluster]:
    """The server `database_url` names, or a throw-away PostgreSQL 16 when it is empty; what the
    bench made there is removed on exit."""
    if database_url:
        stage("using the server DATABASE_URL names (the bench's databases are dropped after)")
        cluster: Cluster = ExternalServer(database_url)
    else:
        stage("starting a throw-away PostgreSQL 16")
        cluster = throwaway_cluster()
        cluster.init()
        cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()


def prepare(cluster: Cluster, dbname: str) -> str:
    """A new database `dbname` with this checkout's migrations and functions; its DSN."""
    cluster.create_database(dbname, template="template0")
    dsn = cluster.dsn(dbname)
    migrator.migrate(dsn)
    return dsn


# What seed_main writes beside the ids: each configuration's id and name on a line (bench/put_config.lua).
PUTS_FILE = "config_puts.txt"
# ... and the id of its one large configuration (`big_config`), of an application of its own.
BIG_FILE = "config_big.txt"
# How large that configuration is as the API serves it (config_get's text: its envelope and `config`).
BIG_BYTES = (20_000, 21_000)


def big_config(size: int) -> dict:
    """A configuration of about `size` bytes as JSON (PostgreSQL's jsonb writes the same separators as
    json.dumps), of the kind a service keeps: a few settings, then a few hundred entries of endpoints,
    feature flags and rate limits, each an object of strings, numbers and booleans."""
    teams = ("payments", "search", "identity", "billing", "catalogue", "shipping")
    config: dict = {"release": 42, "region": "eu-west-1", "replicas": 6, "debug": False, "tags": ["a", "b"],
                    "endpoints": {}, "features": {}, "limits": {}}  # fmt: skip
    n = 0
    while len(json.dumps(config)) < size:
        n += 1
        team = teams[n % 6]
        if n % 3 == 0:
            config["endpoints"][f"{team}-{n}"] = {
                "url": f"https://{team}-{n}.internal.example:{8000 + n * 7 % 1000}/api/v{n % 3 + 1}",
                "timeout_ms": 250 + 37 * n % 900,
                "retries": n % 5,
                "tls": n % 4 != 0,
            }
        elif n % 3 == 1:
            config["features"][f"flag_{n:03d}"] = {"enabled": n % 2 == 0, "rollout_percent": 7 * n % 101, "owner": team}
        else:
            config["limits"][f"{team}_{n}"] = {"per_second": 50 * (n % 40 + 1), "burst": 10 * (n % 7 + 1),
                                               "scope": "tenant" if n % 2 else "global"}  # fmt: skip
    return config


def seed_big(dsn: str, workdir: Path) -> str:
    """One configuration of BIG_BYTES as served, of an application of its own (no other run draws it: it
    is in no ids file and no bench table); its id, written to BIG_FILE in `workdir`."""
    name = "config-20kb"
    envelope = {"id": "X" * 26, "name": name, "config": {}, "comments": None, "application_id": "X" * 26}
    middle = sum(BIG_BYTES) // 2 - 100  # the loop in big_config overshoots by up to an entry
    text = json.dumps(big_config(middle - len(json.dumps(envelope)) + 2))
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("""
                WITH app AS (INSERT INTO applications (id, name, comments)
                             VALUES (app_private.ulid_generate(), 'bench-big', 'seeded by make bench') RETURNING id)
                INSERT INTO configurations (id, application_id, name, comments, config)
                SELECT app_private.ulid_generate(), app.id, %s, NULL, %s::jsonb FROM app RETURNING id
            """, (name, text))  # fmt: skip
            config_id = cur.fetchone()[0]
            cur.execute("SELECT octet_length(config_get(%s)::text)", (config_id,))
            served = cur.fetchone()[0]
    finally:
        conn.close()
    if not BIG_BYTES[0] <= served <= BIG_BYTES[1]:
        raise RuntimeError(
            f"the large configuration is {served:,} bytes as served, not {BIG_BYTES[0]:,}-{BIG_BYTES[1]:,}"
        )
    (workdir / BIG_FILE).write_text(config_id + "\n")
    return config_id


def seed_main(dsn: str, applications: int, workdir: Path) -> tuple[Path, Path]:
    """Applications with three small configurations each; files of their ids for wrk (and, beside
    them, `config_names.txt` for GET by names and PUTS_FILE for PUT); then one large configuration,
    of an application of its own, its id in BIG_FILE (`seed_big`)."""
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
    # A PUT sends the configuration's own name: a name the application already holds would be a 409.
    puts = sql(dsn, "SELECT b.id || ' ' || c.name FROM bench.config_ids b JOIN configurations c USING (id) "
                    "ORDER BY b.n")  # fmt: skip
    (workdir / PUTS_FILE).write_text("\n".join(row[0] for row in puts) + "\n")
    # What a consuming service asks for: application and configuration by names.
    names = (f"app-{n}/configurations/config-{k}" for n in range(1, applications + 1) for k in (1, 2, 3))
    (workdir / "config_names.txt").write_text("\n".join(names) + "\n")
    seed_big(dsn, workdir)
    return app_ids, config_ids


def seed_list(dsn: str, applications: int) -> None:
    sql(dsn, f"""
        INSERT INTO applications (id, name, comments)
        SELECT app_private.ulid_generate(), 'listed-' || n, CASE WHEN n % 2 = 0 THEN 'an even one' END
          FROM generate_series(1, {applications}) n;
    """)  # fmt: skip
    sql(dsn, "VACUUM ANALYZE applications")  # VACUUM must be a statement of its own


@contextmanager
def serving(
    dsn: str, log: Path, *, command: tuple[str, ...] = ("-m", "api"), cwd: Path = PROJECT_ROOT, **settings: str
) -> Iterator[ApiProcess]:
    """`command` served on `dsn` from the checkout in `cwd` (this one, or a worktree of another revision),
    with the least CPU share, as docs/scaling.md advises beside PostgreSQL: PostgreSQL and wrk come first."""
    api = ApiProcess(dsn, log, command=command, cwd=cwd, least_cpu_share=True, **settings)
    try:
        yield api
    finally:
        api.stop()


class PgBouncer:
    """PgBouncer in transaction pooling in front of the server, run as an unprivileged OS user if we are root."""

    def __init__(self, server: Cluster, dbname: str) -> None:
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


# -- /proc sampling of a server's process ---------------------------------------------------


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


def rss_kb(pid: int, field_name: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field_name}:\s+(\d+) kB", status, re.M)[1])


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


def on_the_same_cpu(pinned: int, other: int) -> None:
    """Move every thread of `other` to the one CPU that `pinned` keeps to, when both keep to one
    (PIN_CPU), so that an A/B of two such servers does not also compare the CPUs they started on."""
    cpus = os.sched_getaffinity(pinned)
    if len(cpus) == 1 and len(os.sched_getaffinity(other)) == 1:
        for task in Path(f"/proc/{other}/task").iterdir():
            os.sched_setaffinity(int(task.name), cpus)

"""Load runs: wrk against the HTTP servers, pgbench against the database, and how runs are compared.

- `wrk`, `pgbench`: one run each, read into a `Load` (`parse_wrk`, `parse_pgbench`);
- `Best`, `fastest`, `keep_faster`: each side keeps its best run, with every run's failures;
- `with_failures_of`: one run kept of several, counting every run's failures;
- `alternating`: routes run against several servers in turn, so that drift on a shared machine
  favours none; what each request cost the server's process (CPU, context switches) comes along.
  The servers may share one database or each have its own (`Picks`: the ids each one's wrk draws).
"""

import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from bench.harness import PUTS_FILE, Cluster, counters, stage
from devtools.api_process import ApiProcess

BENCH = Path(__file__).resolve().parent
SWEEP = (1, 4, 16, 64)
CONCURRENCY = 16
# Runs of each route whose p99 / p50 is judged (at CONCURRENCY): the verdict takes their median.
TAIL_RUNS = 3
# What the API and its peer (bench/peer.py) both serve, compared in one stage and by bench.ladder.
PEER_ROUTES = ("healthz", "get_app", "post_app")
# Every route wrk drives against several servers: the peer's, and PUT of a configuration (not the peer's).
ROUTES = (*PEER_ROUTES, "put_config")


@dataclass
class Load:
    """One load run: requests (or transactions) per second and latencies in ms."""

    rate: float
    p50_ms: float | None = None
    p99_ms: float | None = None
    non_2xx: int = 0
    errors: int = 0


# -- reading the tools' output ---------------------------------------------------------------


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


# -- one run --------------------------------------------------------------------------------


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


def pgbench(cluster: Cluster, dbname: str, script: str, clients: int, seconds: float, *, transactions: int = 0) -> Load:
    """`script` run by `clients` for `seconds`, or for `transactions` in all when given (each client
    runs its share)."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    length = ["-t", str(-(-transactions // clients))] if transactions else ["-T", str(round(seconds))]
    try:
        result = subprocess.run(
            [str(cluster.bin / "pgbench"), "-n", "-M", "simple", "-c", str(clients), "-j", str(min(clients, 2)),
             *length, "-f", file.name, cluster.dsn(dbname)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return parse_pgbench(result.stdout)
    finally:
        os.unlink(file.name)


# -- runs compared --------------------------------------------------------------------------


@dataclass
class Best:
    """A server's best run of a route, and what each request cost its process in that run."""

    load: Load
    cpu_us: float
    switches: float


def with_failures_of(kept: Load, runs: Sequence[Load]) -> Load:
    """`kept`, carrying every run's non-2xx answers and errors: a run left out still counts in
    "non-2xx answers and socket errors, all runs"."""
    return replace(kept, non_2xx=sum(run.non_2xx for run in runs), errors=sum(run.errors for run in runs))


def fastest(*runs: Load) -> Load:
    """The run with the best rate, carrying every run's failures."""
    return with_failures_of(max(runs, key=lambda run: run.rate), runs)


def p99_over_p50(load: Load) -> float:
    return load.p99_ms / load.p50_ms


def keep_faster[K](best: dict[K, Best], key: K, run: Best) -> None:
    """Keep under `key` the faster of `run` and the run kept there, with both runs' failures."""
    kept = best.get(key)
    if kept is None or run.load.rate > kept.load.rate:
        best[key] = run
    if kept is not None:
        best[key].load = fastest(kept.load, run.load)


class Picks(NamedTuple):
    """What wrk draws from in one seeded database: get_app.lua's environment and put_config.lua's."""

    app_env: dict[str, str]
    put_env: dict[str, str] | None = None


def picks(workdir: Path) -> Picks:
    """What wrk draws from in the database whose files seed_main wrote into `workdir`."""
    return Picks(
        {"IDS_FILE": str(workdir / "app_ids.txt"), "PATH_PREFIX": "/api/v1/applications/"},
        {"IDS_FILE": str(workdir / PUTS_FILE)},
    )


def peer_routes(
    app_env: dict[str, str], put_env: dict[str, str] | None = None
) -> dict[str, tuple[str, Path | None, dict[str, str]]]:
    """Each of ROUTES as wrk drives it: a path, a Lua script and the script's environment (PUT only
    given `put_env`)."""
    routes = {
        "healthz": ("/healthz", None, {}),
        "get_app": ("", BENCH / "get_app.lua", app_env),
        "post_app": ("", BENCH / "post_app.lua", {}),
    }
    if put_env is not None:
        routes["put_config"] = ("", BENCH / "put_config.lua", put_env)
    return routes


def alternating(
    servers: dict[str, ApiProcess],
    app_env: dict[str, str],
    rounds: int,
    seconds: float,
    routes: tuple[str, ...] = PEER_ROUTES,
    *,
    put_env: dict[str, str] | None = None,
    own: dict[str, Picks] | None = None,
    serves: dict[str, tuple[str, ...]] | None = None,
) -> dict[tuple[str, str], Best]:
    """Each of `routes` (of ROUTES) against each server in turn, `rounds` times over; each server
    keeps its best run of each route, so that drift on a shared machine favours none.

    wrk draws from `app_env` and `put_env`, or for a server in `own` from that server's own
    database; a server in `serves` is sent only the routes listed there (the peer: no PUT)."""
    own, serves = own or {}, serves or {}
    each = {server: peer_routes(*own.get(server, Picks(app_env, put_env))) for server in servers}
    runs = {name: [s for s in servers if name in serves.get(s, ROUTES)] for name in ROUTES if name in routes}
    for name, sent in runs.items():
        if missing := [server for server in sent if name not in each[server]]:
            raise ValueError(f"{name} needs a file of configurations to PUT (put_env) for {', '.join(missing)}")
    best: dict[tuple[str, str], Best] = {}
    for name, sent in runs.items():
        for _ in range(rounds):
            for server in sent:
                api = servers[server]
                path, script, env = each[server][name]
                before = counters(api.process.pid)
                load = wrk(api.base + path, CONCURRENCY, seconds, script, **env)
                after = counters(api.process.pid)
                requests = load.rate * round(seconds)  # wrk runs whole seconds
                cpu_us, switches = (after[0] - before[0]) * 1e6 / requests, (after[1] - before[1]) / requests
                keep_faster(best, (server, name), Best(load, cpu_us, switches))
        stage(f"  {name}: " + ", ".join(f"{server} {best[server, name].load.rate:,.0f}/s" for server in sent))
    return best

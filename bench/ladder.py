"""`python -m bench.ladder REV[:NAME=VALUE,...] ...`: the API at several revisions, in one run.

What a change bought, measured the only way these machines allow: side by side. Each
revision is checked out into a temporary git worktree and served from there (with the
settings given after its colon, e.g. `HEAD:PIN_CPU=false`, or a list-valued one such as
`HEAD:SPEED_TRICKS_OFF=held_response,log_batching`), all on one throw-away database
that this checkout migrates and seeds, so the revisions must share its functions; with
`--own-databases`, each on a database of its own that its own worktree migrates (its
migrations.py, its functions) and this checkout seeds alike, for revisions whose schemas
differ. Then /healthz, GET by id, POST and PUT of a configuration run against each in
turn, and again, each keeping its better run, so that drift on a shared machine favours
none; the peer (bench/peer.py, on the first revision's database) runs beside them, PUT
aside. Prints a table of requests per second and each one's ratio to the peer.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.harness import Cluster, on_the_same_cpu, prepare, seed_main, sql, stage
from bench.load import PEER_ROUTES, ROUTES, Best, Picks, alternating, picks
from devtools.api_process import ApiProcess
from devtools.embedded import throwaway_cluster
from settings import PROJECT_ROOT


def worktree(revision: str, parent: Path) -> Path:
    place = parent / revision.replace("/", "_")
    if not place.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(place), revision], cwd=PROJECT_ROOT,
                       check=True, capture_output=True)  # fmt: skip
    return place


@contextmanager
def worktrees(parent: Path) -> Iterator[Path]:
    """`parent`, for worktree() to check revisions out into; every worktree in it is removed on exit."""
    try:
        yield parent
    finally:
        for tree in parent.iterdir() if parent.exists() else ():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=False)


def commit_of(revision: str) -> str | None:
    """The abbreviated commit `revision` names in this repository, or None when it names none here."""
    result = subprocess.run(["git", "rev-parse", "--verify", "--short", f"{revision}^{{commit}}"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, check=False)  # fmt: skip
    return result.stdout.strip() if result.returncode == 0 else None


def own_database(cluster: Cluster, dbname: str, tree: Path, applications: int, workdir: Path) -> tuple[str, Picks]:
    """A new database `dbname` migrated by the checkout in `tree` (its own migrations.py and functions,
    run on its own code as ApiProcess serves it), then seeded by seed_main as every bench database is,
    its files in `workdir`; its DSN, and what wrk draws from in it."""
    cluster.create_database(dbname, template="template0")
    dsn = cluster.dsn(dbname)
    migrated = subprocess.run([sys.executable, "migrations.py", "up"], cwd=tree,
                              env={**os.environ, "DATABASE_URL": dsn}, capture_output=True, text=True)  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(
            f"{tree}: migrations.py up exited {migrated.returncode}:\n{migrated.stdout}{migrated.stderr}"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    seed_main(dsn, applications, workdir)
    return dsn, picks(workdir)


def rung_settings(rung: str) -> tuple[str, dict[str, str]]:
    """The revision of `REV:NAME=VALUE,...` and its settings. An item without `=` continues the value
    before it, so that a list-valued setting fits: `HEAD:SPEED_TRICKS_OFF=held_response,log_batching,PIN_CPU=false`."""
    revision, _, text = rung.partition(":")
    settings: dict[str, str] = {}
    name = None
    for item in text.split(",") if text else ():
        if "=" in item:
            name, value = item.split("=", 1)
            settings[name] = value
        elif name is None:
            raise ValueError(f"{rung}: settings are NAME=VALUE, and {item!r} follows none")
        else:
            settings[name] += f",{item}"
    return revision, settings


def table(rungs: list[str], best: dict[tuple[str, str], Best], routes: tuple[str, ...] = ROUTES) -> str:
    """Each rung's best run of each route, and its ratio to the peer's; "—" where there is no run
    (the peer serves no PUT)."""
    lines = [
        "| revision | " + " | ".join(f"{n} (/s) | / peer | CPU µs | switches" for n in routes) + " |",
        "|---|" + "---:|---:|---:|---:|" * len(routes),
    ]

    def cells(rung: str, route: str) -> str:
        run, peer = best.get((rung, route)), best.get(("peer", route))
        if run is None:
            return "— | — | — | —"
        ratio = f"{run.load.rate / peer.load.rate:.2f}" if peer is not None else "—"
        return f"{run.load.rate:,.0f} | {ratio} | {run.cpu_us:.0f} | {run.switches:.1f}"

    for rung in rungs:
        lines.append(f"| {rung} | " + " | ".join(cells(rung, n) for n in routes) + " |")
    failures = sum(run.load.non_2xx + run.load.errors for run in best.values())
    return "\n".join(lines) + (
        "\n\nCPU µs and switches: the server process's, per request, in its best run. "
        f"Non-2xx answers and socket errors, all runs: {failures}.\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ladder", description=__doc__.split("\n\n")[0])
    parser.add_argument("rungs", nargs="+", help="REV or REV:NAME=VALUE,... (settings for that one)")
    parser.add_argument("--seconds", type=float, default=4, help="duration of each load run")
    parser.add_argument("--rounds", type=int, default=2, help="times each route runs against each server")
    parser.add_argument("--applications", type=int, default=10_000)
    parser.add_argument(
        "--own-databases",
        action="store_true",
        help="a database for each revision, migrated by its own worktree (else one, migrated by this checkout)",
    )
    parser.add_argument("--routes", nargs="+", choices=ROUTES, default=list(ROUTES), help="the routes to run")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="fsync and synchronous_commit on, as in production (else off, as every bench stage runs)",
    )
    args = parser.parse_args(argv)
    try:
        rungs = {rung: rung_settings(rung) for rung in args.rungs}
    except ValueError as exc:
        parser.error(str(exc))
    routes = tuple(route for route in ROUTES if route in args.routes)

    cluster = throwaway_cluster()
    cluster.ephemeral = not args.durable  # a cluster of its own (initdb), started without fsync=off
    cluster.init()
    cluster.start()
    # Every server stays up with its pool of 16 and a listener: more than the default 100.
    sql(cluster.dsn("postgres"), f"ALTER SYSTEM SET max_connections = {20 * (len(args.rungs) + 2)}")
    cluster.stop()
    cluster.start()
    workdir = Path(tempfile.mkdtemp(prefix="appconfig-ladder-"))
    try:
        with worktrees(workdir / "trees") as trees, ExitStack() as servers:
            # Each rung's database and what wrk draws from in it: one for all, or one each.
            databases: dict[str, tuple[str, Picks]] = {}
            if not args.own_databases:
                dsn = prepare(cluster, "bench")
                seed_main(dsn, args.applications, workdir)
                databases = dict.fromkeys(rungs, (dsn, picks(workdir)))
            running: dict[str, ApiProcess] = {}
            for rung, (revision, env) in rungs.items():
                tree = worktree(revision, trees)
                if args.own_databases:
                    stage(f"a database migrated by {revision}'s own worktree, seeded")
                    number = len(databases)
                    databases[rung] = own_database(cluster, f"bench_{number}", tree, args.applications,
                                                   workdir / f"seed_{number}")  # fmt: skip
                stage(f"serving {rung}")
                api = ApiProcess(
                    databases[rung][0], workdir / f"{len(running)}.log", cwd=tree, least_cpu_share=True, **env
                )
                running[rung] = servers.enter_context(api)
            # Each pinned rung on the first one's CPU: else the rungs compare the CPUs they started on too.
            first, *others = running.values()
            for other in others:
                on_the_same_cpu(first.process.pid, other.process.pid)
            # The peer on the first rung's database.
            databases["peer"] = databases[next(iter(rungs))]
            running["peer"] = servers.enter_context(
                ApiProcess(
                    databases["peer"][0],
                    workdir / "peer.log",
                    command=("-m", "bench.peer"),
                    least_cpu_share=True,
                    POOL_SIZE="16",
                )
            )
            own = {name: seeded for name, (_, seeded) in databases.items()}
            best = alternating(running, {}, args.rounds, args.seconds, routes, own=own, serves={"peer": PEER_ROUTES})
        print("\n" + table(list(running), best, routes))
        return 0
    finally:
        cluster.remove()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

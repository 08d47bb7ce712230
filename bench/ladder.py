"""`python -m bench.ladder REV[:NAME=VALUE,...] ...`: the API at several revisions, in one run.

What a change bought, measured the only way these machines allow: side by side. Each
revision is checked out into a temporary git worktree and served from there (with the
settings given after its colon, e.g. `HEAD:PIN_CPU=false`, or a list-valued one such as
`HEAD:SPEED_TRICKS_OFF=held_response,log_batching`), all on one throw-away database
that this checkout migrates and seeds, so the revisions must share its functions. Then
/healthz, GET by id and POST run against each in turn, and again, each keeping its better
run, so that drift on a shared machine favours none; the peer (bench/peer.py) runs beside
them. Prints a table of requests per second and each one's ratio to the peer.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.harness import on_the_same_cpu, prepare, seed_main, sql, stage
from bench.load import PEER_ROUTES, Best, alternating
from devtools.api_process import ApiProcess
from devtools.embedded import throwaway_cluster
from settings import PROJECT_ROOT


def worktree(revision: str, parent: Path) -> Path:
    place = parent / revision.replace("/", "_")
    if not place.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(place), revision], cwd=PROJECT_ROOT,
                       check=True, capture_output=True)  # fmt: skip
    return place


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


def table(rungs: list[str], best: dict[tuple[str, str], Best]) -> str:
    lines = [
        "| revision | " + " | ".join(f"{n} (/s) | / peer | CPU µs | switches" for n in PEER_ROUTES) + " |",
        "|---|" + "---:|---:|---:|---:|" * len(PEER_ROUTES),
    ]
    for rung in rungs:
        cells = [
            f"{best[rung, n].load.rate:,.0f} | {best[rung, n].load.rate / best['peer', n].load.rate:.2f} | "
            f"{best[rung, n].cpu_us:.0f} | {best[rung, n].switches:.1f}"
            for n in PEER_ROUTES
        ]
        lines.append(f"| {rung} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nCPU µs and switches: the server process's, per request, in its best run.\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ladder", description=__doc__.split("\n\n")[0])
    parser.add_argument("rungs", nargs="+", help="REV or REV:NAME=VALUE,... (settings for that one)")
    parser.add_argument("--seconds", type=float, default=4, help="duration of each load run")
    parser.add_argument("--rounds", type=int, default=2, help="times each route runs against each server")
    parser.add_argument("--applications", type=int, default=10_000)
    args = parser.parse_args(argv)
    try:
        rungs = {rung: rung_settings(rung) for rung in args.rungs}
    except ValueError as exc:
        parser.error(str(exc))

    cluster = throwaway_cluster()
    cluster.init()
    cluster.start()
    # Every server stays up with its pool of 16 and a listener: more than the default 100.
    sql(cluster.dsn("postgres"), f"ALTER SYSTEM SET max_connections = {20 * (len(args.rungs) + 2)}")
    cluster.stop()
    cluster.start()
    workdir = Path(tempfile.mkdtemp(prefix="appconfig-ladder-"))
    trees = workdir / "trees"
    try:
        dsn = prepare(cluster, "bench")
        app_ids, _ = seed_main(dsn, args.applications, workdir)
        app_env = {"IDS_FILE": str(app_ids), "PATH_PREFIX": "/api/v1/applications/"}
        with ExitStack() as servers:
            running: dict[str, ApiProcess] = {}
            for rung, (revision, env) in rungs.items():
                stage(f"serving {rung}")
                api = ApiProcess(dsn, workdir / f"{len(running)}.log", cwd=worktree(revision, trees), **env)
                running[rung] = servers.enter_context(api)
            # Each pinned rung on the first one's CPU: else the rungs compare the CPUs they started on too.
            first, *others = running.values()
            for other in others:
                on_the_same_cpu(first.process.pid, other.process.pid)
            running["peer"] = servers.enter_context(
                ApiProcess(dsn, workdir / "peer.log", command=("-m", "bench.peer"), POOL_SIZE="16")
            )
            best = alternating(running, app_env, args.rounds, args.seconds)
        print("\n" + table(list(running), best))
        return 0
    finally:
        cluster.remove()
        for tree in trees.iterdir() if trees.exists() else ():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=PROJECT_ROOT, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

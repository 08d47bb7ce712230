"""The revisions stage of `make bench`: what recording every change costs a write (the tree
before revisions against HEAD, each on a database its own migrations made), and what the
revisions table stores after a soak of updates."""

import argparse
import json
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import psycopg2

from bench import ladder
from bench.harness import Cluster, on_the_same_cpu, sql, stage
from bench.load import CONCURRENCY, Picks, alternating, fastest, pgbench
from bench.report import Results
from devtools.api_process import ApiProcess

# The last commit before revisions (d946852 added them): what the revisions stage compares HEAD with.
BEFORE_REVISIONS = "d5a114bf7ad38b8fd245c00ab19cccd5ceb0ee8e"
# The revisions stage's two sides, each served from a worktree of its own on a database its own migrations made.
REVISION_SIDES = {"before revisions": BEFORE_REVISIONS, "revisions": "HEAD"}
REVISION_ROUTES = ("get_app", "post_app", "put_config")
REVISION_ROUNDS = 3
# The soak: updates of one configuration of each size, one transaction each, as the API makes them.
SOAK_UPDATES = 20_000
SOAK_SIZES = {"1 KB": 1024, "20 KB": 20 * 1024}


def soak_config(size: int) -> dict:
    """A configuration of about `size` bytes as JSON, of the kind a service keeps: a few settings and a
    section per service it calls (as compressible as such text is, no more)."""
    config: dict = {"release": 0, "region": "eu-west-1", "replicas": 3, "debug": False, "tags": ["a", "b"]}
    teams = ("payments", "search", "identity", "billing", "catalogue", "shipping")
    n = 0
    while len(json.dumps(config)) < size - 120:
        n += 1
        config[f"service_{n}"] = {
            "url": f"https://{teams[n % 6]}-{n}.internal.example:{8000 + n * 7 % 1000}/api/v{n % 3 + 1}",
            "timeout_ms": 250 + 37 * n % 900,
            "retries": n % 5,
            "enabled": n % 3 != 0,
            "owner": teams[n * 5 % 6],
        }
    return config


def revisions_storage(dsn: str) -> dict[str, float]:
    """The revisions table: its rows, its size (heap and TOAST), its indexes' and both together."""
    rows, table, indexes, total = sql(dsn, """
        SELECT count(*), pg_table_size('revisions'), pg_indexes_size('revisions'), pg_total_relation_size('revisions')
          FROM revisions
    """)[0]  # fmt: skip
    return {"rows": rows, "table_bytes": table, "indexes_bytes": indexes, "total_bytes": total}


def soak(cluster: Cluster, dbname: str, updates: int) -> dict[str, float]:
    """A configuration of each of SOAK_SIZES updated `updates` times by pgbench, one client, a transaction each
    (new content each time); what each revision added to the revisions table, and the table after."""
    dsn = cluster.dsn(dbname)
    app_id = sql(dsn, "SELECT id FROM bench.app_ids WHERE n = 1")[0][0]
    sql(dsn, "CREATE TABLE bench.soak (size int PRIMARY KEY, id text, config jsonb)")
    figures: dict[str, float] = {"soak_updates": updates}
    for label, size in SOAK_SIZES.items():
        text = json.dumps(soak_config(size))
        conn = psycopg2.connect(dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT config_create(%s, %s, %s::jsonb)::json->>'id'", (app_id, f"soak-{size}", text))
                config_id = cur.fetchone()[0]
                cur.execute("INSERT INTO bench.soak VALUES (%s, %s, %s::jsonb)", (size, config_id, text))
        finally:
            conn.close()
        before = revisions_storage(dsn)
        script = (
            "\\set r random(1, 1000000000)\n"
            f"SELECT config_update(id, 'soak-{size}', jsonb_set(config, '{{release}}', to_jsonb(:r))) "
            f"FROM bench.soak WHERE size = {size};\n"
        )
        started = time.perf_counter()
        run = pgbench(cluster, dbname, script, 1, 0, transactions=updates)
        after = revisions_storage(dsn)
        added = after["rows"] - before["rows"]
        stored, as_text = sql(dsn, f"""
            SELECT avg(pg_column_size(state)), avg(octet_length(state::text)) FROM revisions WHERE id = '{config_id}'
        """)[0]  # fmt: skip
        figures |= {
            f"{label}: json_bytes": len(text),
            f"{label}: revisions": added,
            f"{label}: bytes_per_revision": (after["total_bytes"] - before["total_bytes"]) / added,
            f"{label}: table_bytes_per_revision": (after["table_bytes"] - before["table_bytes"]) / added,
            f"{label}: state_stored_bytes": float(stored),
            f"{label}: state_text_bytes": float(as_text),
            f"{label}: updates_per_s": run.rate,
        }
        stage(f"  {label}: {added:,} revisions in {time.perf_counter() - started:.0f} s, "
              f"{figures[f'{label}: bytes_per_revision']:,.0f} bytes each with the indexes "
              f"(its state: {float(stored):,.0f} bytes stored, {float(as_text):,.0f} as text)")  # fmt: skip
    return figures | revisions_storage(dsn)


def measure(
    cluster: Cluster,
    args: argparse.Namespace,
    workdir: Path,
    results: Results,
    api: Callable[..., AbstractContextManager[ApiProcess]],
) -> None:
    """POST, PUT and GET by id of the last tree before revisions (BEFORE_REVISIONS) and of HEAD,
    alternating, each keeping its best run; the same writes by pgbench, the database alone; then
    the revisions table after a soak. Into `results`; `api(dsn, log name, cwd=...)` serves one."""
    commits = {side: ladder.commit_of(revision) for side, revision in REVISION_SIDES.items()}
    if None in commits.values():
        missing = ", ".join(revision for side, revision in REVISION_SIDES.items() if commits[side] is None)
        results.notes.append(f"No commit {missing} in this repository: the revisions stage was skipped.")
        return
    seconds, count = args.seconds / 2, args.applications
    dbnames = {side: f"bench_revisions_{number}" for number, side in enumerate(REVISION_SIDES)}
    with ladder.worktrees(workdir / "trees") as trees, ExitStack() as servers:
        running: dict[str, ApiProcess] = {}
        own: dict[str, Picks] = {}
        for side, revision in REVISION_SIDES.items():
            stage(f"  {side} ({commits[side]}): a database its own worktree migrates, seeded")
            tree = ladder.worktree(revision, trees)
            dsn, own[side] = ladder.own_database(cluster, dbnames[side], tree, count, workdir / side)
            has_revisions = sql(dsn, "SELECT to_regclass('revisions') IS NOT NULL")[0][0]
            if has_revisions != (side == "revisions"):
                raise RuntimeError(f"{side} ({commits[side]}): a revisions table where none should be, or none")
            running[side] = servers.enter_context(api(dsn, f"{dbnames[side]}.log", cwd=tree))
        first, other = running.values()
        on_the_same_cpu(first.process.pid, other.process.pid)
        best = alternating(running, {}, REVISION_ROUNDS, seconds, REVISION_ROUTES, own=own)
    for (side, name), run in best.items():
        results.http[f"{side}: {name}_c16"] = run.load
        results.cpu_us[f"{side}: {name}_c16"] = run.cpu_us
    # The database alone: the same writes, straight to the functions.
    update = (
        f"\\set n random(1, {3 * count})\n"
        "SELECT config_update(c.id, c.name, jsonb_build_object('replicas', :n % 9 + 1, 'region', 'eu-west-1', "
        "'debug', false, 'tags', jsonb_build_array('a', 'b'), 'release', 'pgbench-' || :n || '-' || :client_id)) "
        "FROM bench.config_ids b JOIN configurations c USING (id) WHERE b.n = :n;\n"
    )
    create = "SELECT app_create('pgbench-' || gen_random_uuid());\n"
    for name, script in (("config_update_c16", update), ("app_create_c16", create)):
        for _ in range(REVISION_ROUNDS):
            for side, dbname in dbnames.items():
                run = pgbench(cluster, dbname, script, CONCURRENCY, seconds)
                key = f"{side}: {name}"
                kept = results.database.get(key)
                results.database[key] = fastest(kept, run) if kept else run
        stage(f"  pgbench {name}: " + ", ".join(
            f"{side} {results.database[f'{side}: {name}'].rate:,.0f}/s" for side in dbnames))  # fmt: skip
    updates = args.soak_updates
    stage(f"  the soak: {updates:,} updates of a configuration of each size, by pgbench")
    storage = soak(cluster, dbnames["revisions"], updates)
    durability = dict(sql(cluster.dsn(dbnames["revisions"]), """
        SELECT name, setting FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit')
    """))  # fmt: skip
    results.revisions_setting = {
        "before": commits["before revisions"], "after": commits["revisions"], **durability
    }  # fmt: skip
    results.revisions = {
        "applications": count,
        "rounds": REVISION_ROUNDS,
        "seconds": seconds,
        **storage,
    }

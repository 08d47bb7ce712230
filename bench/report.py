"""The report of a run: its results, the ratios and targets judged from them, markdown, and the
docs it is published into (docs/benchmarks.md and docs/bench-get-sweep.png, nothing else; the
chart itself is bench.chart's)."""

import shutil
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench import tricks
from bench.load import PEER_ROUTES, Load, p99_over_p50
from bench.markers import add_markers, replace_between_markers
from bench.tricks import Measurement
from settings import PROJECT_ROOT as ROOT

DOCS = ROOT / "docs"
TARGETS = {
    "get_vs_http": 0.30,
    "get_vs_db": 0.12,
    "post_vs_db": 0.12,
    "p99_over_p50": 4.0,
    "list_rss_mb": 50.0,
    "list_ttfb_s": 1.0,
    "list_vs_copy": 0.5,
    "by_name_vs_by_id": 0.8,
    "304_vs_200": 1.5,  # of the 20 KB configuration (bench.harness.BIG_BYTES)
    "watcher_rss_kb": 20.0,
    "watchers_woken_s": 1.0,
    "get_with_watchers": 0.8,
    "stream_p50_ms": 20.0,
    "vs_peer": 1.0,  # GET by id and POST (issue #24)
    "healthz_vs_peer": 0.8,  # /healthz keeps the bench's own goal: no handler work to weigh, issue #24 sets none
    "workers2_p99_over_p50": 5.0,  # GET by id at concurrency 16, WORKERS=2
    "metrics_on_vs_off": 0.95,
    "writes_with_revisions": 0.8,
    # Reads are untouched by revisions: the goal is as near 1 as alternating runs on a small machine can say.
    "reads_with_revisions": 0.9,
}
# The revisions stage's routes, in the order its table shows them, and the goal of each.
REVISION_ROUTES = {
    "post_app": ("POST /applications", "writes_with_revisions"),
    "put_config": ("PUT /configurations/{id}", "writes_with_revisions"),
    "get_app": ("GET /applications/{id}", "reads_with_revisions"),
}
REVISIONS_MARKERS = "bench:revisions"


# The goals issue #24 sets, each judged in one run of `make bench` (the full one: two workers too), by
# the name verdicts() gives it.
def _of_issue_24(verdict: str) -> bool:
    """Whether a verdict (named as verdicts() names it, some with a count first) is one of ISSUE_24."""
    return any(verdict.endswith(name) for name in ISSUE_24)


ISSUE_24 = (
    "get_app / the peer's (FastAPI on asyncpg)",
    "post_app / the peer's (FastAPI on asyncpg)",
    "GET of the 20 KB configuration: answered 304 / answered 200",
    "2 workers: GET p99 / p50",
    "all answered 200 after one change: last (s)",
    "long-polls: RSS per watcher (KB)",
    "GET configuration by name / by id",
)


@dataclass
class Results:
    """Everything one run measured, by stage; what the report is made from, and its JSON."""

    started: str
    machine: str
    seconds_per_run: float
    http: dict[str, Load] = field(default_factory=dict)
    database: dict[str, Load] = field(default_factory=dict)
    listing: dict[str, float] = field(default_factory=dict)
    watch: dict[str, float] = field(default_factory=dict)
    cpu_us: dict[str, float] = field(default_factory=dict)  # the server's CPU per request, by run
    body_bytes: dict[str, float] = field(default_factory=dict)  # a run's 200 body as checked, by run
    tricks: list[Measurement] = field(default_factory=list)  # only with --tricks
    # The revisions stage: the commits it compared (before, after) and the server's durability settings
    # (fsync, synchronous_commit: the numbering lock is held through the commit); its runs' shape, its soak.
    revisions_setting: dict[str, str] = field(default_factory=dict)
    revisions: dict[str, float] = field(default_factory=dict)
    # p99 / p50 of every run of a route run TAIL_RUNS times, by run; `http` keeps its first run.
    tails: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def tail_ratio(results: Results, name: str) -> float:
    """A route's p99 / p50 as judged: the median of its runs' where it ran several times."""
    runs = results.tails.get(name)
    return statistics.median(runs) if runs else p99_over_p50(results.http[name])


def _tail(results: Results, name: str) -> str:
    """A route's p99 / p50 as judged, and where it ran several times, every run's."""
    judged = f"{tail_ratio(results, name):.1f}"
    if runs := results.tails.get(name):
        return f"{judged} (median of {', '.join(f'{ratio:.1f}' for ratio in runs)})"
    return judged


def revisions_ratios(results: Results) -> dict[str, float]:
    """Each of the revisions stage's routes with revisions / before them, where it ran."""
    out = {}
    for name in REVISION_ROUTES:
        before, after = results.http.get(f"before revisions: {name}_c16"), results.http.get(f"revisions: {name}_c16")
        if before is not None and after is not None:
            out[f"{name}_with_revisions_vs_before"] = after.rate / before.rate
    return out


def revisions_verdicts(results: Results) -> list[tuple[str, str, str, bool]]:
    checks = []
    for name, ratio in revisions_ratios(results).items():
        route, goal = REVISION_ROUTES[name.removesuffix("_with_revisions_vs_before")]
        checks.append((f"{route} with revisions / before them", f"{ratio:.2f}", f">= {TARGETS[goal]}",
                       ratio >= TARGETS[goal]))  # fmt: skip
    return checks


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
        "get_big_304_vs_200": http["get_big_304_c16"].rate / http["get_big_200_c16"].rate,
    }
    if "get_big_304_c16" in results.cpu_us:
        cpu = results.cpu_us
        out["get_big_304_vs_200_cpu_per_request"] = cpu["get_big_304_c16"] / cpu["get_big_200_c16"]
    for name in PEER_ROUTES:
        if f"peer: {name}_c16" in http:  # "ours:" ran beside it, alternating
            out[f"{name}_vs_peer"] = http[f"ours: {name}_c16"].rate / http[f"peer: {name}_c16"].rate
    if "2 workers: get_app_c16" in http:
        out["get_app_2_workers_p99_over_p50"] = tail_ratio(results, "2 workers: get_app_c16")
    if "metrics off: get_app_c16" in http:
        out["get_app_metrics_on_vs_off"] = http["metrics on: get_app_c16"].rate / http["metrics off: get_app_c16"].rate
    if listing:
        out["list_vs_copy"] = listing["rows_per_s"] / listing["copy_rows_per_s"]
    if "replica: get_app_c16" in http:
        out["get_app_standby_vs_primary"] = http["replica: get_app_c16"].rate / http["get_app_c16"].rate
    if results.watch:
        out["get_with_watchers_vs_without"] = results.watch["get_rate_with"] / results.watch["get_rate_without"]
    return out | revisions_ratios(results)


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
        ("GET of the 20 KB configuration: answered 304 / answered 200", f"{r['get_big_304_vs_200']:.2f}",
         f">= {TARGETS['304_vs_200']}", r["get_big_304_vs_200"] >= TARGETS["304_vs_200"]),
    ]  # fmt: skip
    for name in PEER_ROUTES:
        if f"{name}_vs_peer" in r:
            goal = TARGETS["healthz_vs_peer" if name == "healthz" else "vs_peer"]
            checks.append((f"{name} / the peer's (FastAPI on asyncpg)", f"{r[f'{name}_vs_peer']:.2f}", f">= {goal}",
                           r[f"{name}_vs_peer"] >= goal))  # fmt: skip
    if "get_big_304_vs_200_cpu_per_request" in r:
        cpu = r["get_big_304_vs_200_cpu_per_request"]
        checks.append(("GET of the 20 KB configuration answered 304: the server's CPU per request / 200's",
                       f"{cpu:.2f}", "< 1", cpu < 1))  # fmt: skip
    if "get_app_metrics_on_vs_off" in r:
        checks.append(("GET app with metrics / without", f"{r['get_app_metrics_on_vs_off']:.2f}",
                       f">= {TARGETS['metrics_on_vs_off']}",
                       r["get_app_metrics_on_vs_off"] >= TARGETS["metrics_on_vs_off"]))  # fmt: skip
    for name in ("get_app_c16", "get_config_c16", "post_app_c16"):
        ratio, goal = tail_ratio(results, name), TARGETS["p99_over_p50"]
        checks.append((f"{name}: p99 / p50", _tail(results, name), f"<= {goal}", ratio <= goal))
    if "get_app_2_workers_p99_over_p50" in r:
        ratio, goal = r["get_app_2_workers_p99_over_p50"], TARGETS["workers2_p99_over_p50"]
        checks.append(("2 workers: GET p99 / p50", _tail(results, "2 workers: get_app_c16"), f"<= {goal}",
                       ratio <= goal))  # fmt: skip
    checks += revisions_verdicts(results)
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
    if big := results.body_bytes.get("get_big_200_c16"):
        lines += [
            "",
            f"get_big_200_c16 and get_big_304_c16 read one configuration of {big:,.0f} bytes as served "
            "(the 200's body, checked before and after their runs), whole or revalidated.",
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
            f"| the configuration they wait on / are sent when woken, as served (bytes) | {w['watched_bytes']:,.0f} / "
            f"{w['woken_bytes']:,.0f} |",
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
    """Every target, those issue #24 sets marked, and any of those this run did not measure."""
    judged = verdicts(results)
    lines = ["| target | measured | goal | met | set by |", "|---|---:|---|---|---|"]
    lines += [f"| {n} | {m} | {g} | {'yes' if ok else 'NO'} | {'issue #24' if _of_issue_24(n) else ''} |"
              for n, m, g, ok in judged]  # fmt: skip
    lines += ["", "The goals set by issue #24 are judged in this one run; the others are the bench's own."]
    if missing := [name for name in ISSUE_24 if not any(n.endswith(name) for n, *_ in judged)]:
        lines.append(f"Not measured in this run, so not judged: {'; '.join(missing)}.")
    return "\n".join(lines) + "\n"


def tricks_heading(results: Results) -> str:
    return tricks.heading(results.started, results.machine, tricks.ROUNDS, results.seconds_per_run / 2)


def tricks_markdown(results: Results) -> str:
    """The speed tricks' table, if the run measured them (`--tricks`); else nothing."""
    return tricks.markdown(results.tricks, tricks_heading(results)) if results.tricks else ""


def _mib(value: float) -> str:
    return f"{value / 2**20:,.1f} MiB"


def revisions_markdown(results: Results) -> str:
    """The revisions stage's tables, if the run measured it; else nothing."""
    r, setting, http, database = results.revisions, results.revisions_setting, results.http, results.database
    if not r:
        return ""
    lines = [
        f"Revisions, from the run of {results.started} ({results.machine}): the last tree before revisions "
        f"({setting['before']}) against HEAD ({setting['after']}), each served from a worktree of its own on a "
        f"database its own migrations made, seeded alike ({r['applications']:,.0f} applications, three "
        f"configurations each); {r['rounds']:g} alternations of {r['seconds']:g} s per run at concurrency 16, "
        f"each side keeping its best. The server: fsync {setting['fsync']}, synchronous_commit "
        f"{setting['synchronous_commit']}.",
        "",
        "| route | before revisions (/s) | with revisions (/s) | with / before | goal | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    measured = revisions_ratios(results)
    for name, (route, goal) in REVISION_ROUTES.items():
        if (ratio := measured.get(f"{name}_with_revisions_vs_before")) is not None:
            before, after = http[f"before revisions: {name}_c16"], http[f"revisions: {name}_c16"]
            met = "yes" if ratio >= TARGETS[goal] else "NO"
            lines.append(
                f"| {route} | {before.rate:,.0f} | {after.rate:,.0f} | {ratio:.2f} | >= {TARGETS[goal]} | {met} |"
            )
    for name in ("config_update", "app_create"):
        before, after = database.get(f"before revisions: {name}_c16"), database.get(f"revisions: {name}_c16")
        if before is not None and after is not None:
            lines.append(f"| pgbench `{name}`, the database alone | {before.rate:,.0f} | {after.rate:,.0f} | "
                         f"{after.rate / before.rate:.2f} | | |")  # fmt: skip
    runs = [load for key, load in (*http.items(), *database.items()) if key.split(": ")[0].endswith("revisions")]
    lines += [
        "",
        f"Non-2xx answers and socket errors, all these runs: {sum(run.non_2xx + run.errors for run in runs)}.",
    ]
    sizes = [label for label in ("1 KB", "20 KB") if f"{label}: revisions" in r]
    if sizes:

        def row(what: str, figure: str, unit: str = "") -> str:
            return f"| {what} | " + " | ".join(f"{r[f'{size}: {figure}']:,.0f}{unit}" for size in sizes) + " |"

        lines += [
            "",
            "| the soak: one configuration updated again and again | "
            + " | ".join(f"{size} configuration" for size in sizes) + " |",
            "|---|" + "---:|" * len(sizes),
            row("updates (pgbench, one client, a transaction each)", "revisions"),
            row("updates per second", "updates_per_s", "/s"),
            row("the configuration as JSON text (bytes)", "json_bytes"),
            row("its state as a revision stores it (bytes; TOAST compresses it when large)", "state_stored_bytes"),
            row("bytes per revision: the table, heap and TOAST", "table_bytes_per_revision"),
            row("bytes per revision: with its indexes", "bytes_per_revision"),
        ]  # fmt: skip
    lines += [
        "",
        "| the revisions table after the soak | value |",
        "|---|---:|",
        f"| revisions: the seed's, the runs' above and the soak's | {r['rows']:,.0f} |",
        f"| the table, heap and TOAST (`pg_table_size`) | {_mib(r['table_bytes'])} |",
        f"| its indexes (`pg_indexes_size`) | {_mib(r['indexes_bytes'])} |",
        f"| with its indexes (`pg_total_relation_size`) | {_mib(r['total_bytes'])} |",
        f"| bytes per revision, with its indexes (total / revisions) | {r['total_bytes'] / r['rows']:,.0f} |",
    ]
    return "\n".join(lines) + "\n"


def publish_own(results: Results, docs: Path = DOCS) -> list[str]:
    """The blocks of benchmarks.md that a stage fills on its own, for those of them the run filled:
    the speed tricks' (every trick measured) and the revisions'. The blocks it wrote."""
    written = []
    if tricks.complete(results.tricks):
        tricks.publish(results.tricks, tricks_heading(results), docs / "benchmarks.md")
        written.append("the speed tricks")
    if results.revisions:
        add_markers(docs / "benchmarks.md", REVISIONS_MARKERS, "## Revisions: what a write pays")
        replace_between_markers(docs / "benchmarks.md", REVISIONS_MARKERS, revisions_markdown(results))
        written.append("the revisions")
    return written


def publish(results: Results, chart_path: Path, docs: Path = DOCS) -> None:
    """The latest full run into `docs`: every table in benchmarks.md, and the chart beside it. The speed
    tricks' table too, when the run measured every trick, and the revisions' when it measured them.
    Nothing else: the README only links to them."""
    replace_between_markers(docs / "benchmarks.md", "bench:results", markdown(results))
    publish_own(results, docs)
    shutil.copyfile(chart_path, docs / "bench-get-sweep.png")

"""The bench's own logic: reading wrk and pgbench, keeping the best runs, judging the targets,
writing the docs (only docs/benchmarks.md and the chart), seeding, and the ladder's rungs."""

import shutil

import pytest

from bench import harness, ladder, load, markers, report

WRK = """Running 8s test @ http://127.0.0.1:8000
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.68ms    2.01ms  40.12ms   90.00%
  Latency Distribution
     50%    6.68ms
     75%    7.50ms
     90%    9.00ms
     99%   16.11ms
  18032 requests in 8.00s, 4.10MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 5
Requests/sec:   2254.00
Transfer/sec:    524.00KB
"""

PGBENCH = """pgbench (16.15)
transaction type: get.sql
number of transactions actually processed: 165264
number of failed transactions: 0 (0.000%)
latency average = 0.775 ms
initial connection time = 12.0 ms
tps = 20658.123 (without initial connection time)
"""


def test_wrk_output_is_read():
    run = load.parse_wrk(WRK)

    assert run == load.Load(rate=2254.0, p50_ms=6.68, p99_ms=16.11, non_2xx=5, errors=3)


@pytest.mark.parametrize(("text", "ms"), [("950.00us", 0.95), ("1.50s", 1500.0), ("12ms", 12.0), ("1.00m", 60000.0)])
def test_wrk_units(text, ms):
    assert load._ms(text) == pytest.approx(ms)


def test_pgbench_output_is_read():
    assert load.parse_pgbench(PGBENCH) == load.Load(rate=20658.123, p50_ms=0.775, errors=0)


def results(get_rate: float) -> report.Results:
    run = load.Load
    return report.Results(
        started="now",
        machine="test",
        seconds_per_run=8,
        http={
            "healthz_c16": run(7000, 2, 3),
            "get_app_c16": run(get_rate, 6, 12),
            "get_config_c16": run(2000, 6, 30),
            "post_app_c16": run(1800, 8, 16),
            "get_config_by_name_c16": run(1500, 7, 14),
            "list_configs_c16": run(1200, 9, 18),
            "get_big_200_c16": run(2000, 6, 12),
            "get_big_304_c16": run(3200, 4, 8),
            "ours: healthz_c16": run(7000, 2, 3),
            "peer: healthz_c16": run(10000, 1, 2),
            "ours: get_app_c16": run(get_rate, 6, 12),
            "peer: get_app_c16": run(2400, 5, 10),
            "ours: post_app_c16": run(1800, 8, 16),
            "peer: post_app_c16": run(2000, 8, 12),
            "metrics on: get_app_c16": run(2900, 6, 12),
            "metrics off: get_app_c16": run(3000, 6, 12),
            "2 workers: get_app_c16": run(3000, 4, 24),
        },
        database={"app_get_c16": run(20000), "config_get_c16": run(25000), "app_create_c16": run(12000)},
        listing={
            "rows": 1e6, "bytes": 9e7, "ttfb_s": 0.01, "total_s": 4.0, "rows_per_s": 250000.0,
            "rss_growth_mb": 3.0, "copy_rows": 1e6, "copy_total_s": 1.0, "copy_rows_per_s": 1e6,
        },
        cpu_us={"get_big_200_c16": 230.0, "get_big_304_c16": 220.0},
        body_bytes={"get_big_200_c16": 20437},
        watch={
            "watchers": 10000, "watched_bytes": 160, "woken_bytes": 150, "get_rate_without": 2000.0,
            "get_rate_with": 1500.0, "rss_per_watcher_kb": 15.0, "woken_200": 10000, "woken_p50_s": 0.4,
            "woken_max_s": 0.8, "stream_p50_ms": 1.0, "stream_p99_ms": 3.0,
        },
    )  # fmt: skip


def test_targets_are_judged_from_the_ratios():
    verdicts = {name: ok for name, _, _, ok in report.verdicts(results(get_rate=2500))}

    assert verdicts["GET app / HTTP ceiling"] is True  # 2500 / 7000 = 0.36
    assert verdicts["GET app / database ceiling"] is True  # 0.125
    assert verdicts["get_config_c16: p99 / p50"] is False  # 5.0
    assert verdicts["list 1M: rows/s / COPY rows/s"] is False  # 0.25
    assert verdicts["GET configuration by name / by id"] is False  # 0.75
    assert verdicts["GET of the 20 KB configuration: answered 304 / answered 200"] is True  # 1.60
    assert verdicts["2 workers: GET p99 / p50"] is False  # 6.0
    assert verdicts["10,000 long-polls: RSS per watcher (KB)"] is True
    assert verdicts["all answered 200 after one change: last (s)"] is True
    assert verdicts["GET app beside them / without"] is False  # 0.75
    assert verdicts["event stream: psql change to event, p50 (ms)"] is True
    assert verdicts["healthz / the peer's (FastAPI on asyncpg)"] is False  # 0.70, against its own 0.8
    assert verdicts["get_app / the peer's (FastAPI on asyncpg)"] is True  # 1.04
    assert verdicts["post_app / the peer's (FastAPI on asyncpg)"] is False  # 0.90: issue #24 asks 1.0
    assert verdicts["GET app with metrics / without"] is True  # 0.97
    assert verdicts["GET of the 20 KB configuration answered 304: the server's CPU per request / 200's"] is True
    assert {name: ok for name, _, _, ok in report.verdicts(results(get_rate=2000))}["GET app / HTTP ceiling"] is False


def test_the_table_names_every_run_and_target():
    table = report.markdown(results(get_rate=2500))

    assert "| HTTP get_app_c16 | 2,500 |" in table
    assert "| pgbench app_create_c16 | 12,000 |" in table
    assert "| list 1M: rows/s / COPY rows/s | 0.25 | >= 0.5 | NO |" in table
    assert "| GET app/s without them / while they wait | 2,000 / 1,500 |" in table
    assert "| the configuration they wait on / are sent when woken, as served (bytes) | 160 / 150 |" in table
    assert "read one configuration of 20,437 bytes as served" in table


def test_the_table_marks_issue_24_s_goals_and_names_those_the_run_did_not_measure():
    measured = results(get_rate=2500)
    table = report.markdown(measured)

    assert "| GET of the 20 KB configuration: answered 304 / answered 200 | 1.60 | >= 1.5 | yes | issue #24 |" in table
    assert "| 2 workers: GET p99 / p50 | 6.0 | <= 5.0 | NO | issue #24 |" in table
    assert "| get_app / the peer's (FastAPI on asyncpg) | 1.04 | >= 1.0 | yes | issue #24 |" in table
    assert "| healthz / the peer's (FastAPI on asyncpg) | 0.70 | >= 0.8 | NO |  |" in table  # the bench's own
    assert "| get_app_c16: p99 / p50 | 2.0 | <= 4.0 | yes |  |" in table
    assert "Not measured" not in table
    judged = [name for name, *_ in report.verdicts(measured)]
    assert all(any(name.endswith(goal) for name in judged) for goal in report.ISSUE_24)

    del measured.http["2 workers: get_app_c16"]  # a --quick run has no two workers

    assert "Not measured in this run, so not judged: 2 workers: GET p99 / p50." in report.markdown(measured)


def test_results_go_between_the_markers_and_nowhere_else(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("intro\n<!-- bench:x:start -->\nold\nrows\n<!-- bench:x:end -->\noutro, cut mid-wo")

    markers.replace_between_markers(page, "bench:x", "new table\n")
    markers.replace_between_markers(page, "bench:x", "newer table\n")  # again: still one block

    assert page.read_text() == "intro\n<!-- bench:x:start -->\nnewer table\n<!-- bench:x:end -->\noutro, cut mid-wo"


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all",
        "<!-- bench:x:end --> before <!-- bench:x:start -->",
        "<!-- bench:x:start --> a <!-- bench:x:end --> twice <!-- bench:x:start --> <!-- bench:x:end -->",
        "<!-- bench:x:start --> never ended",
    ],
)
def test_without_exactly_one_pair_of_markers_nothing_is_written(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text)

    with pytest.raises(ValueError):
        markers.replace_between_markers(page, "bench:x", "table")
    assert page.read_text() == text


def test_the_docs_hold_the_markers_the_bench_writes_between():
    text = (report.DOCS / "benchmarks.md").read_text()

    assert text.count("<!-- bench:results:start -->") == 1 and text.count("<!-- bench:results:end -->") == 1


def test_publishing_writes_docs_benchmarks_and_the_chart_and_nothing_else(tmp_path):
    root = tmp_path / "checkout"
    (root / "docs").mkdir(parents=True)
    shutil.copyfile(report.ROOT / "README.md", root / "README.md")
    shutil.copyfile(report.DOCS / "benchmarks.md", root / "docs" / "benchmarks.md")
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"a chart")
    before = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}

    report.publish(results(get_rate=2500), chart, docs=root / "docs")

    after = {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
    changed = {path.relative_to(root).as_posix() for path in after if before.get(path) != after[path]}
    assert changed == {"docs/benchmarks.md", "docs/bench-get-sweep.png"}
    assert after[root / "README.md"] == before[root / "README.md"]
    published = after[root / "docs" / "benchmarks.md"].decode()
    assert "| list 1M: rows/s / COPY rows/s | 0.25 | >= 0.5 | NO |" in published  # the targets, with the runs
    assert after[root / "docs" / "bench-get-sweep.png"] == b"a chart"


def test_the_seeds_run_on_the_migrated_schema(fresh_dsn, tmp_path):
    app_ids, config_ids = harness.seed_main(fresh_dsn, 5, tmp_path)
    harness.seed_list(fresh_dsn, 7)

    assert len(app_ids.read_text().split()) == 5 and len(config_ids.read_text().split()) == 15
    # and the large configuration's application, drawn by no run but the 200/304 one
    assert harness.sql(fresh_dsn, "SELECT count(*) FROM applications") == [(13,)]


def test_the_seed_makes_one_configuration_of_20_kb_as_served_and_draws_it_nowhere_else(fresh_dsn, tmp_path):
    app_ids, config_ids = harness.seed_main(fresh_dsn, 3, tmp_path)

    big = (tmp_path / harness.BIG_FILE).read_text().split()
    (served, entries), = harness.sql(fresh_dsn, f"""
        SELECT octet_length(config_get('{big[0]}')::text),
               (SELECT count(*) FROM jsonb_each(config->'endpoints'))
                 + (SELECT count(*) FROM jsonb_each(config->'features'))
                 + (SELECT count(*) FROM jsonb_each(config->'limits'))
          FROM configurations WHERE id = '{big[0]}'
    """)  # fmt: skip
    assert len(big) == 1 and 20_000 <= served <= 21_000 and entries >= 100
    assert big[0] not in config_ids.read_text().split() + (tmp_path / harness.PUTS_FILE).read_text().split()
    assert harness.sql(fresh_dsn, f"SELECT count(*) FROM bench.config_ids WHERE id = '{big[0]}'") == [(0,)]
    assert len(app_ids.read_text().split()) == 3


def test_the_fastest_run_carries_the_failures_of_the_runs_left_out():
    slow = load.Load(rate=900.0, p50_ms=9.0, non_2xx=3, errors=1)
    fast = load.Load(rate=1000.0, p50_ms=8.0, non_2xx=0, errors=2)

    kept = load.fastest(slow, fast)

    assert (kept.rate, kept.p50_ms, kept.non_2xx, kept.errors) == (1000.0, 8.0, 3, 3)


def test_a_tail_run_several_times_is_judged_on_the_median_of_its_runs_and_shows_every_run():
    measured = results(get_rate=2500)
    measured.http["2 workers: get_app_c16"] = load.Load(3000, 4.0, 60.0)  # its first run: a stall in it
    measured.tails["2 workers: get_app_c16"] = [15.0, 3.5, 4.0]

    table = report.markdown(measured)

    assert "| 2 workers: GET p99 / p50 | 4.0 (median of 15.0, 3.5, 4.0) | <= 5.0 | yes | issue #24 |" in table
    assert report.ratios(measured)["get_app_2_workers_p99_over_p50"] == 4.0


def test_keeping_the_faster_run_keeps_its_cost_and_every_run_s_failures():
    best: dict[str, load.Best] = {}
    load.keep_faster(best, "get", load.Best(load.Load(rate=1000.0, non_2xx=1), cpu_us=200.0, switches=9.0))
    load.keep_faster(best, "get", load.Best(load.Load(rate=1100.0, errors=2), cpu_us=180.0, switches=8.0))
    load.keep_faster(best, "get", load.Best(load.Load(rate=900.0), cpu_us=250.0, switches=10.0))

    kept = best["get"]
    assert (kept.load.rate, kept.cpu_us, kept.switches) == (1100.0, 180.0, 8.0)
    assert (kept.load.non_2xx, kept.load.errors) == (1, 2)


@pytest.mark.parametrize(
    ("rung", "revision", "settings"),
    [
        ("HEAD", "HEAD", {}),
        ("HEAD~3:PIN_CPU=false", "HEAD~3", {"PIN_CPU": "false"}),
        ("HEAD:SPEED_TRICKS_OFF=held_response,log_batching,PIN_CPU=false", "HEAD",
         {"SPEED_TRICKS_OFF": "held_response,log_batching", "PIN_CPU": "false"}),
        ("main:URL=a=b", "main", {"URL": "a=b"}),
    ],
)  # fmt: skip
def test_a_ladder_rung_names_its_revision_and_settings(rung, revision, settings):
    assert ladder.rung_settings(rung) == (revision, settings)


def test_a_ladder_rung_s_settings_start_with_a_name():
    with pytest.raises(ValueError, match="follows none"):
        ladder.rung_settings("HEAD:gc_tuning")


def best(rate: float) -> load.Best:
    return load.Best(load.Load(rate=rate), cpu_us=200.0, switches=8.0)


def test_the_ladder_s_table_has_a_dash_where_the_peer_has_no_run():
    runs = {("HEAD", name): best(1000.0) for name in load.ROUTES} | {
        ("peer", n): best(2000.0) for n in load.PEER_ROUTES
    }

    table = ladder.table(["HEAD", "peer"], runs)

    assert (
        "| HEAD | 1,000 | 0.50 | 200 | 8.0 | 1,000 | 0.50 | 200 | 8.0 | 1,000 | 0.50 | 200 | 8.0 | 1,000 | — |" in table
    )
    assert table.splitlines()[3].endswith("| — | — | — | — |")  # the peer's PUT
    assert "Non-2xx answers and socket errors, all runs: 0." in table


def test_a_server_is_sent_only_the_routes_it_serves_and_put_needs_its_file():
    servers = {"HEAD": object(), "peer": object()}

    with pytest.raises(ValueError, match=r"put_config needs a file of configurations to PUT .* for HEAD$"):
        load.alternating(servers, {}, 1, 1, load.ROUTES, serves={"peer": load.PEER_ROUTES})


def test_each_server_draws_from_its_own_database_s_files(tmp_path):
    own = load.picks(tmp_path)

    routes = load.peer_routes(*own)

    assert routes["get_app"][2] == {"IDS_FILE": str(tmp_path / "app_ids.txt"), "PATH_PREFIX": "/api/v1/applications/"}
    assert routes["put_config"] == ("", load.BENCH / "put_config.lua", {"IDS_FILE": str(tmp_path / harness.PUTS_FILE)})
    assert "put_config" not in load.peer_routes({})


def test_the_seed_writes_each_configuration_s_id_and_name_for_put(fresh_dsn, tmp_path):
    _, config_ids = harness.seed_main(fresh_dsn, 3, tmp_path)

    lines = [line.split(" ") for line in (tmp_path / harness.PUTS_FILE).read_text().splitlines()]
    names = dict(harness.sql(fresh_dsn, "SELECT id, name FROM configurations"))
    assert [id_ for id_, _ in lines] == config_ids.read_text().split()
    assert all(names[id_] == name for id_, name in lines)


def test_a_rung_s_own_database_is_migrated_by_its_own_checkout(cluster, tmp_path):
    name = "ladder_own_database_test"
    try:
        dsn, picked = ladder.own_database(cluster, name, report.ROOT, 4, tmp_path / "seed")

        assert harness.sql(dsn, "SELECT count(*) FROM applications") == [(5,)]  # and the 20 KB one's
        assert harness.sql(dsn, "SELECT count(*) > 0 FROM migrations") == [(True,)]
        assert picked == load.picks(tmp_path / "seed")
    finally:
        harness.sql(cluster.dsn("postgres"), f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def with_revisions(get_rate: float, post_after: float) -> report.Results:
    run = load.Load
    measured = results(get_rate)
    measured.http |= {
        "before revisions: get_app_c16": run(3000),
        "revisions: get_app_c16": run(2900),
        "before revisions: post_app_c16": run(2000),
        "revisions: post_app_c16": run(post_after),
        "before revisions: put_config_c16": run(1800, non_2xx=1),
        "revisions: put_config_c16": run(1500),
    }
    measured.database |= {"before revisions: config_update_c16": run(3000), "revisions: config_update_c16": run(2400)}
    measured.revisions_setting = {"before": "d5a114b", "after": "8beee09", "fsync": "on", "synchronous_commit": "on"}
    measured.revisions = {
        "applications": 100_000, "rounds": 3, "seconds": 4, "rows": 440_000, "table_bytes": 200 * 2**20,
        "indexes_bytes": 50 * 2**20, "total_bytes": 250 * 2**20,
    } | {
        f"{size}: {figure}": value for size in ("1 KB", "20 KB") for figure, value in (
            ("revisions", 20_000), ("updates_per_s", 900), ("json_bytes", 1000), ("state_stored_bytes", 1200),
            ("table_bytes_per_revision", 1600), ("bytes_per_revision", 1800))
    }  # fmt: skip
    return measured


def test_writes_with_revisions_are_judged_against_the_tree_before_them():
    verdicts = {name: ok for name, _, _, ok in report.verdicts(with_revisions(2500, post_after=1500))}

    assert verdicts["POST /applications with revisions / before them"] is False  # 0.75
    assert verdicts["PUT /configurations/{id} with revisions / before them"] is True  # 0.83
    assert verdicts["GET /applications/{id} with revisions / before them"] is True  # 0.97
    assert verdicts["non-2xx answers and socket errors, all runs"] is False
    assert report.ratios(with_revisions(2500, post_after=1700))["post_app_with_revisions_vs_before"] == 0.85


def test_the_revisions_tables_hold_the_rates_and_the_storage():
    table = report.revisions_markdown(with_revisions(2500, post_after=1500))

    assert "the last tree before revisions (d5a114b) against HEAD (8beee09)" in table
    assert "The server: fsync on, synchronous_commit on." in table
    assert "| POST /applications | 2,000 | 1,500 | 0.75 | >= 0.8 | NO |" in table
    assert "| pgbench `config_update`, the database alone | 3,000 | 2,400 | 0.80 | | |" in table
    assert "Non-2xx answers and socket errors, all these runs: 1." in table
    assert "| bytes per revision: with its indexes | 1,800 | 1,800 |" in table
    assert "| with its indexes (`pg_total_relation_size`) | 250.0 MiB |" in table
    assert "| bytes per revision, with its indexes (total / revisions) | 596 |" in table
    assert report.revisions_markdown(results(2500)) == ""


def test_the_revisions_block_is_published_in_a_section_of_its_own(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copyfile(report.DOCS / "benchmarks.md", docs / "benchmarks.md")
    before = (docs / "benchmarks.md").read_text()

    assert report.publish_own(results(2500), docs) == []
    assert (docs / "benchmarks.md").read_text() == before
    assert report.publish_own(with_revisions(2500, post_after=1500), docs) == ["the revisions"]
    assert report.publish_own(with_revisions(2500, post_after=1700), docs) == ["the revisions"]  # again: one block

    published = (docs / "benchmarks.md").read_text()
    assert published.count("## Revisions: what a write pays") == 1
    assert "| POST /applications | 2,000 | 1,700 | 0.85 | >= 0.8 | yes |" in published
    assert published.split("<!-- bench:results:end -->")[0] == before.split("<!-- bench:results:end -->")[0]

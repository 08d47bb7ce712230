"""The speed tricks' own logic: what turns each off, gains and verdicts, the table and where it is written."""

import math

import pytest

from bench import markers, report, tricks
from bench.bench_test import results


def every_trick(gain: float = 0.05) -> list[tricks.Measurement]:
    return [tricks.Measurement(name, "GET by id", 1000.0 * (1 + gain), 1000.0) for name in tricks.TRICKS]


def test_each_trick_is_turned_off_by_its_own_setting():
    assert tricks.off("log_batching") == {"SPEED_TRICKS_OFF": "log_batching"}
    assert tricks.off("held_response") == {"SPEED_TRICKS_OFF": "held_response"}
    assert tricks.off("pin_cpu") == {"PIN_CPU": "false"}


def test_every_trick_has_a_stage():
    assert set(tricks.TRICKS.values()) == {*tricks.LOAD_STAGES, "watchers"}
    assert tricks.TRICKS["batched_ids"] == "post" and tricks.TRICKS["held_response"] == "watchers"


def test_a_rate_gains_what_it_has_more_with_the_trick():
    row = tricks.Measurement("direct_futures", "GET by id", with_trick=3150.0, without=3000.0)

    assert row.gain == pytest.approx(0.05)
    assert row.verdict == "keeps its place"


def test_a_cost_gains_what_it_would_cost_more_without_the_trick():
    row = tricks.Measurement("held_response", "RSS per watcher", 15.0, 27.0, unit="KB", higher_is_better=False)

    assert row.gain == pytest.approx(0.8)
    assert row.verdict == "keeps its place"


@pytest.mark.parametrize(
    ("with_trick", "without", "higher_is_better", "verdict"),
    [
        (1020.0, 1000.0, True, "keeps its place"),  # exactly 2 %
        (1019.0, 1000.0, True, "below 2 %"),
        (950.0, 1000.0, True, "below 2 %"),  # the trick costs
        (0.5, 0.51, False, "keeps its place"),  # seconds: 2 % longer without it
        (0.5, 0.505, False, "below 2 %"),
        (0.0, 1000.0, True, "not measured"),
        (1.0, -0.2, False, "not measured"),  # RSS that shrank while watchers were held
    ],
)
def test_a_trick_keeps_its_place_from_a_two_percent_gain(with_trick, without, higher_is_better, verdict):
    unit = "/s" if higher_is_better else "s"
    row = tricks.Measurement("t", "s", with_trick, without, unit=unit, higher_is_better=higher_is_better)

    assert row.verdict == verdict


def test_the_table_shows_each_figure_its_gain_and_verdict_and_every_failure():
    rows = [
        tricks.Measurement("direct_futures", "GET by id", 2100.0, 2000.0, failures=2),
        tricks.Measurement("held_response", "the last woken", 0.5, 0.505, unit="s", higher_is_better=False),
        tricks.Measurement("held_response", "RSS per watcher", 15.0, 27.25, unit="KB", higher_is_better=False,
                           failures=1),
        tricks.Measurement("pin_cpu", "GET by id", 0.0, 3000.0),
    ]  # fmt: skip

    table = tricks.markdown(rows, "Speed tricks, from a test.")

    assert table.startswith("Speed tricks, from a test.\n\n| trick | stage | with | without | gain | verdict |\n")
    assert "| direct_futures | GET by id | 2,100/s | 2,000/s | +5.0 % | keeps its place |" in table
    assert "| held_response | the last woken | 0.500 s | 0.505 s | +1.0 % | below 2 % |" in table
    assert "| held_response | RSS per watcher | 15.0 KB | 27.2 KB | +81.7 % | keeps its place |" in table
    assert "| pin_cpu | GET by id | 0/s | 3,000/s |  | not measured |" in table
    assert "all runs: 3." in table


def test_only_a_run_of_every_trick_is_complete():
    assert tricks.complete(every_trick())
    assert not tricks.complete(every_trick()[1:])
    assert not tricks.complete([])


def test_the_tricks_table_gets_its_own_section_in_a_document_without_one(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("# Benchmarks\n\n<!-- bench:results:start -->\nruns\n<!-- bench:results:end -->\n")

    tricks.publish(every_trick(), "Tricks, first run.", page)
    tricks.publish(every_trick(0.01), "Tricks, second run.", page)  # again: the same section, rewritten

    text = page.read_text()
    assert text.startswith("# Benchmarks\n\n<!-- bench:results:start -->\nruns\n<!-- bench:results:end -->\n\n")
    assert text.count("## Speed tricks") == 1 and text.count("<!-- bench:tricks:start -->") == 1
    assert "Tricks, second run." in text and "first run" not in text
    assert text.endswith("<!-- bench:tricks:end -->\n")


def test_a_document_with_half_a_pair_of_markers_is_left_alone(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text("text\n<!-- bench:tricks:end -->\n")

    markers.add_markers(page, "bench:tricks", "## Speed tricks")
    with pytest.raises(ValueError):
        tricks.publish(every_trick(), "Tricks.", page)
    assert page.read_text() == "text\n<!-- bench:tricks:end -->\n"


def test_a_full_bench_with_every_trick_publishes_their_table_beside_the_results(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text("<!-- bench:results:start -->\n<!-- bench:results:end -->\n")
    chart = tmp_path / "chart.png"
    chart.write_bytes(b"png")
    run = results(get_rate=2500)
    run.tricks = every_trick()

    report.publish(run, chart, docs=docs)

    text = (docs / "benchmarks.md").read_text()
    assert "<!-- bench:tricks:start -->\nSpeed tricks, from the run of now (test): " in text
    assert "| log_batching | GET by id | 1,050/s | 1,000/s | +5.0 % | keeps its place |" in text
    assert text.index("<!-- bench:results:end -->") < text.index("<!-- bench:tricks:start -->")


def test_a_bench_with_some_tricks_only_leaves_their_table_in_the_docs_alone(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "benchmarks.md").write_text("<!-- bench:results:start -->\n<!-- bench:results:end -->\n")
    (tmp_path / "chart.png").write_bytes(b"png")
    run = results(get_rate=2500)
    run.tricks = every_trick()[:2]  # --watchers 0 leaves the watchers' tricks out

    report.publish(run, tmp_path / "chart.png", docs=docs)

    assert "bench:tricks" not in (docs / "benchmarks.md").read_text()
    assert "| direct_futures | GET by id |" in report.tricks_markdown(run)  # printed all the same


def test_the_heading_says_how_the_tricks_were_measured():
    text = tricks.heading("2026-01-01 00:00 UTC", "2 cores", 3, 4.0)

    assert "2026-01-01 00:00 UTC (2 cores)" in text and "3 alternations of 4 s" in text and "+2 %" in text


def test_fewer_than_three_rounds_are_refused(capsys):
    with pytest.raises(SystemExit):
        tricks.main(["--rounds", "2"])
    assert "at least 3" in capsys.readouterr().err


def test_an_unknown_trick_is_refused(capsys):
    with pytest.raises(SystemExit):
        tricks.main(["no_such_trick"])
    assert "no trick named no_such_trick" in capsys.readouterr().err


def test_not_a_number_is_not_a_gain():
    assert math.isnan(tricks.Measurement("t", "s", 1.0, 0.0).gain)

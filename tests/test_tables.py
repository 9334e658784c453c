"""``dextog table`` / ``dextog benchmark`` output from synthetic result files: no physics, a few seconds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from PIL import Image

from dextog_gym.cli.main import build_parser, main
from dextog_gym.envs.reward import TERM_NAMES
from dextog_gym.policies.report import save_result
from dextog_gym.policies.tables import bar_chart, draw_panel, table_ii, wilson_interval


def result(task: str, grasps: str, split: str, successes: int, n: int, skipped: int = 0,
           trained: str = "rule") -> dict:
    """A result as ``dextog evaluate`` writes it, just the fields the tables read."""
    episodes = []
    for i in range(n + skipped):
        ok = i < successes
        row = {"object_id": f"{task}_000", "grasp_index": i, "skipped": "no placement" if i >= n else None}
        if i < n:
            row |= {"success": ok, "success_at_end": ok, "lift_success": False, "return": 1.0,
                    **{f"return_{t}": 0.25 for t in TERM_NAMES}}
        episodes.append(row)
    meta = {"env_id": f"DexTOG/{task}-v0", "task": task, "grasps": grasps, "objects": split,
            "policy_grasp_source": trained}
    return {"meta": meta, "episodes": episodes}


@pytest.fixture
def results_dir(tmp_path) -> Path:
    """rule/seen: stapler 8/10, pen 0/6; isf/seen: stapler 3/4, bottle all unplaced; nothing else measured."""
    folder = tmp_path / "results"
    for name, res in {"stapler__rule__seen": result("stapler", "rule", "seen", 8, 10),
                      "pen__rule__seen": result("pen", "rule", "seen", 0, 6),
                      "stapler__isf__seen": result("stapler", "isf", "seen", 3, 4, trained="rule"),
                      "bottle__isf__seen": result("bottle", "isf", "seen", 0, 0, skipped=3, trained="rule")}.items():
        save_result(res, folder / f"{name}.json")
    return folder


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_wilson_interval_against_hand_computed_values():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(5, 4)


MARKDOWN = """\
Table II shape: success rate by starting grasps

| grasps | objects | stapler | sprayer press | sprayer trigger | bottle | ballpoint |
|---|---|---|---|---|---|---|
| isf | seen | 75% (n=4) | – | – | 0% (n=3) | – |
| rule | seen | 80% (n=10) | – | – | – | 0% (n=6) |

Table IV shape: success rate by the grasp data the policy was trained on (each on its own grasps, seen objects)

| training data | stapler | sprayer press | sprayer trigger | bottle | ballpoint |
|---|---|---|---|---|---|
| Rule-based | 80% (n=10) | – | – | – | 0% (n=6) |
| paper: Raw | 59% | 35% | 5% | 15% | 10% |
| paper: Rule-based | 84% | 50% | 64% | 79% | 20% |
| paper: Ours | 85% | 57% | 70% | 81% | 26% |
"""


def test_markdown_is_the_default_and_unchanged(results_dir, capsys):
    code, out, _ = run(capsys, "table", str(results_dir))
    assert code == 0 and out == MARKDOWN
    assert run(capsys, "table", str(results_dir), "--format", "markdown")[1] == MARKDOWN


def test_csv_has_n_successes_and_the_interval(results_dir, capsys):
    code, out, err = run(capsys, "table", str(results_dir), "--kind", "both", "--format", "csv")
    assert code == 0 and err == ""
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {"table", "source", "grasps", "objects", "training_data", "task", "metric", "rate", "n", "successes",
            "ci_low", "ci_high"} <= set(rows[0])
    by_key = {(r["table"], r["source"], r["grasps"] or r["training_data"], r["objects"], r["task"]): r for r in rows}
    stapler = by_key[("ii", "measured", "rule", "seen", "stapler")]
    assert (stapler["rate"], stapler["n"], stapler["successes"]) == ("0.8", "10", "8")
    assert float(stapler["ci_low"]) == pytest.approx(0.4902, abs=1e-4)
    assert float(stapler["ci_high"]) == pytest.approx(0.9433, abs=1e-4)
    pen = by_key[("ii", "measured", "rule", "seen", "pen")]
    assert (pen["rate"], pen["n"], pen["ci_low"]) == ("0.0", "6", "0.0") and float(pen["ci_high"]) > 0.3
    missing = by_key[("ii", "measured", "rule", "seen", "bottle")]
    assert missing["rate"] == missing["n"] == missing["ci_low"] == ""
    unplaced = by_key[("ii", "measured", "isf", "seen", "bottle")]  # every grasp unplaced: 3 failures
    assert (unplaced["rate"], unplaced["n"], unplaced["ci_low"]) == ("0.0", "3", "0.0")
    assert len([r for r in rows if r["table"] == "ii"]) == 2 * 5  # every (row, task), missing cells included
    paper = [r for r in rows if r["source"] == "paper"]
    assert len(paper) == 3 * 5 and all(r["table"] == "iv" and r["n"] == "" and r["ci_low"] == "" for r in paper)
    assert by_key[("iv", "paper", "Raw", "", "stapler")]["rate"] == "0.59"


def test_json_carries_kind_metric_and_the_same_rows(results_dir, capsys):
    code, out, _ = run(capsys, "table", str(results_dir), "--kind", "iv", "--format", "json", "--metric", "at_end")
    doc = json.loads(out)
    assert code == 0 and doc["kind"] == "iv" and doc["metric"] == "at_end"
    measured = [r for r in doc["rows"] if r["source"] == "measured"]
    assert {r["training_data"] for r in measured} == {"Rule-based"} and len(measured) == 5
    stapler = next(r for r in measured if r["task"] == "stapler")
    assert stapler["n"] == 10 and stapler["successes"] == 8 and stapler["ci_high"] == pytest.approx(0.9433, abs=1e-4)
    assert "grasps" not in stapler
    paper = [r for r in doc["rows"] if r["source"] == "paper"]
    assert {r["training_data"] for r in paper} == {"Raw", "Rule-based", "Ours"}
    assert all(r["n"] is None and r["ci_low"] is None for r in paper)


@pytest.mark.parametrize("kind", ["ii", "iv", "both"])
@pytest.mark.parametrize("fmt", ["markdown", "csv"])
def test_png_is_written_exactly_where_asked(results_dir, tmp_path, capsys, kind, fmt):
    png = tmp_path / "charts" / "my chart.png"
    code, out, err = run(capsys, "table", str(results_dir), "--kind", kind, "--format", fmt, "--png", str(png))
    assert code == 0
    assert sorted(p.name for p in png.parent.iterdir()) == ["my chart.png"]  # no _iv twin, no temporary left
    # markdown prints the chart line as before; csv keeps stdout parseable and says it on stderr
    assert f"chart: {png}\n" in (out if fmt == "markdown" else err)
    if fmt == "csv":
        assert "chart:" not in out
    with Image.open(png) as image:
        assert image.format == "PNG"
        height = image.size[1]
    assert (height > 700) == (kind == "both")  # both: one figure, two panels stacked


def test_png_markdown_output_for_table_ii_keeps_its_layout(results_dir, tmp_path, capsys):
    png = tmp_path / "t.png"
    out = run(capsys, "table", str(results_dir), "--kind", "ii", "--png", str(png))[1]
    assert out.endswith("| rule | seen | 80% (n=10) | – | – | – | 0% (n=6) |\n\nchart: " + str(png) + "\n\n")


def test_zero_and_missing_are_drawn_differently(results_dir):
    from matplotlib.figure import Figure

    from dextog_gym.policies.report import load_result

    cells = table_ii([load_result(p) for p in sorted(results_dir.glob("*.json"))])
    ax = Figure().subplots()
    drawn = {(r["row"], r["task"]): r for r in draw_panel(ax, cells, "t")}
    assert len(drawn) == 2 * 5
    assert drawn[("rule", "seen"), "stapler"] | {"value": 80.0} == {"row": ("rule", "seen"), "task": "stapler",
                                                                  "kind": "bar", "value": 80.0, "n": 10}
    assert drawn[("rule", "seen"), "pen"]["kind"] == "zero" and drawn[("rule", "seen"), "pen"]["n"] == 6
    assert drawn[("rule", "seen"), "bottle"]["kind"] == "missing" and drawn[("rule", "seen"), "bottle"]["n"] is None
    assert drawn[("isf", "seen"), "bottle"]["kind"] == "zero" and drawn[("isf", "seen"), "bottle"]["n"] == 3

    # The artists agree: a zero is a visible bar labelled "0", a missing cell an "n/a" and never a bar.
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid()}
    texts = {t.get_gid(): t.get_text() for t in ax.texts if t.get_gid()}
    assert bars["zero:rule / seen:pen"].get_height() > 0 and texts["value:rule / seen:pen"] == "0"
    assert not any(gid.startswith("missing:") for gid in bars)
    assert texts["missing:rule / seen:bottle"] == "n/a" and "value:rule / seen:bottle" not in texts
    assert texts["n:rule / seen:pen"] == "n=6" and texts["n:isf / seen:bottle"] == "n=3"
    assert "n:rule / seen:bottle" not in texts
    kinds = [r["kind"] for r in drawn.values()]
    assert len(bars) == kinds.count("bar") + kinds.count("zero")
    assert list(texts.values()).count("n/a") == kinds.count("missing") == 6


def test_chart_reports_a_panel_per_table(results_dir, tmp_path):
    from dextog_gym.policies.report import load_result

    cells = table_ii([load_result(p) for p in sorted(results_dir.glob("*.json"))])
    chart = bar_chart([("ii", cells), ("iv", {})], tmp_path / "c.png")
    assert chart.path == tmp_path / "c.png" and chart.path.stat().st_size > 1000
    assert len(chart.panels) == 2 and len(chart.panels[0]) == 10 and chart.panels[1] == []


def test_benchmark_png_is_the_table_ii_chart_at_that_path(results_dir, tmp_path, capsys, monkeypatch):
    from dextog_gym.policies.report import load_result
    from dextog_gym.workflows import suite

    loaded = [load_result(p) for p in sorted(results_dir.glob("*.json"))]
    monkeypatch.setattr(suite, "run_suite", lambda request: loaded)
    png = tmp_path / "table_ii.png"
    code, out, _ = run(capsys, "benchmark", "--out", str(tmp_path / "bench"), "--grasps", "rule,isf",
                       "--max-objects", "2", "--max-grasps-per-object", "2", "--png", str(png), "--no-progress")
    assert code == 0 and out.endswith(f"chart: {png}\n") and "| rule | seen | 80% (n=10) |" in out
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".png"] == ["table_ii.png"]


def test_a_folder_without_results_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, out, err = run(capsys, "table", str(tmp_path / "empty"), "--png", str(tmp_path / "x.png"))
    assert code == 2 and out == ""
    assert f"no result JSONs in {tmp_path / 'empty'}" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("command", ["table", "benchmark"])
def test_help_has_examples_and_every_option_explained(command):
    import argparse

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser = sub.choices[command]
    assert parser.formatter_class is argparse.RawDescriptionHelpFormatter
    assert parser.epilog.startswith("examples:") and f"dextog {command} " in parser.epilog
    assert [a.dest for a in parser._actions if not a.help] == []
    assert "--format" in parser.format_help() or command == "benchmark"


def test_markdown_intervals_are_opt_in():
    from dextog_gym.policies.tables import to_markdown

    cells = {("rule", "seen"): {"stapler": {"rate": 0.8, "n": 10, "successes": 8}}}
    plain = to_markdown(cells, ("grasps", "objects"))
    assert "80% (n=10)" in plain and "[" not in plain
    assert "80% [49–94] (n=10)" in to_markdown(cells, ("grasps", "objects"), intervals=True)


def test_grasp_kept_is_a_share_of_the_successes_with_its_own_n(tmp_path, capsys):
    res = result("stapler", "rule", "seen", 8, 10)
    kept = [True] * 6 + [False, None] + [True, True]  # 8 successes (6 kept, 1 lost, 1 unreported), 2 failures
    for row, k in zip(res["episodes"], kept):
        row["grasp_kept"] = k
    save_result(res, tmp_path / "r" / "stapler__rule__seen.json")
    cells = table_ii([json.loads((tmp_path / "r" / "stapler__rule__seen.json").read_text())], "grasp_kept")
    assert cells[("rule", "seen")]["stapler"] == {"rate": 6 / 7, "n": 7, "successes": 6}
    code, out, _ = run(capsys, "table", str(tmp_path / "r"), "--kind", "ii", "--metric", "grasp_kept", "--intervals")
    assert code == 0 and "86% [49–97] (n=7)" in out


def test_the_cli_offers_every_metric_the_tables_know():
    from dextog_gym.policies.tables import METRICS

    table = build_parser()._subparsers._group_actions[0].choices["table"]
    metric = next(a for a in table._actions if a.dest == "metric")
    assert tuple(metric.choices) == METRICS


def test_overall_column_pools_each_row_s_episodes():
    from dextog_gym.policies.tables import pooled, to_markdown

    row = {"stapler": {"rate": 0.5, "n": 10, "successes": 5}, "pen": {"rate": 0.0, "n": 30, "successes": 0},
           "bottle": {"rate": None, "n": 0, "successes": 0}}
    assert pooled(row) == {"rate": 5 / 40, "n": 40, "successes": 5}  # not the mean of rates (25 %)
    assert pooled({}) is None
    text = to_markdown({("x", "seen"): row}, ("grasps", "objects"), intervals=True, overall=True)
    assert text.splitlines()[0].endswith("overall |") and "12% [" in text.splitlines()[2].split("|")[-2]


def test_unplaced_grasps_are_failures_and_placed_only_is_its_own_column(results_dir, capsys):
    from dextog_gym.policies.report import load_result, summarise

    res = load_result(results_dir / "bottle__isf__seen.json")
    total = summarise(res)[-1]
    assert (total["episodes"], total["unplaced"], total["success"], total["success_placed"]) == (3, 3, 0.0, None)
    code, out, _ = run(capsys, "table", str(results_dir), "--kind", "ii", "--metric", "success_placed")
    assert code == 0 and "| isf | seen | 75% (n=4) | – | – | – | – |" in out

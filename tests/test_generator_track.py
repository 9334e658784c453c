"""The generator track end to end: a submitted package, run isolated on hidden objects, rolled out, verified."""

from __future__ import annotations

import json

import pytest
from conftest import hostile_sdist

from dextog_gym.leaderboard import sandbox
from dextog_gym.leaderboard.generator_track import evaluate_generator
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, PRACTICE_SECRET, TASKS
from dextog_gym.leaderboard.verify import verify_result
from dextog_gym.paths import ASSETS_ENV

ISOLATED, WHY = sandbox.isolation_available()
pytestmark = pytest.mark.skipif(not ISOLATED, reason=f"no usable bubblewrap sandbox: {WHY} (make sandbox)")
META = {"method": "hostile test generator", "authors": ["A. Tester"], "link": "https://example.org/hostile",
        "generator_version": "0.1.0", "ms_per_grasp": 999999}


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submission")
    return hostile_sdist(folder)


@pytest.fixture(scope="module")
def good(package, tmp_path_factory):
    out = tmp_path_factory.mktemp("lb") / "good.json"
    return out, evaluate_generator(str(package), out, META, source="good", per_category=1, workers=1, progress=False)


def test_a_generator_runs_on_hidden_objects_and_is_timed_by_the_evaluator(good, monkeypatch):
    out, result = good
    assert result["track"] == "generator" and result["protocol"]["version"] == 2
    gen = result["generation"]
    assert gen["isolated"] and not gen["failed"] and gen["grasps_asked"] == len(TASKS) * GRASPS_PER_OBJECT
    assert set(gen["objects"]) == {f"{t}_h000" for t in TASKS}  # hidden ids, never public ones
    assert result["run"]["ms_per_grasp"] > 0 and result["submission"]["meta"]["ms_per_grasp"] != 999999
    assert result["hidden_objects"]["seed_sha256"] and PRACTICE_SECRET not in json.dumps(result["hidden_objects"])
    # "good" returns 20 copies of one open-hand grasp: one distinct grasp per object, 19 failures of shortfall
    for task in TASKS:
        assert result["selection"][task][f"{task}_h000"] == {"given": 20, "distinct_taken": 1, "shortfall": 19}
        cell = result["scores"]["verifiers"]["controller"]["tasks"][task]["all"]
        assert cell["n"] == GRASPS_PER_OBJECT and cell["missing"] == 19
    assert (out.parent / "good.grasps" / "submission.json").is_file()
    import os

    assert ASSETS_ENV not in os.environ  # the hidden catalogue was only in use during the evaluation


def test_verify_rebuilds_the_hidden_objects_and_reruns_the_generated_grasps(good):
    out, result = good
    report = verify_result(out, workers=1)
    assert report.ok, report.problems
    assert report.episodes_rerun == sum(len(c["episodes"]) for c in result["cells"].values())
    assert not verify_result(out, workers=1, secret="another").ok


def test_a_crashing_generator_fails_every_object_with_a_line_and_the_run_goes_on(package, tmp_path):
    result = evaluate_generator(str(package), tmp_path / "crash.json", META, source="crash", per_category=1,
                                workers=1, progress=False)
    gen = result["generation"]
    assert len(gen["failed"]) == len(TASKS) and gen["grasps_returned"] == 0 and result["run"]["ms_per_grasp"] is None
    assert all("boom from the hostile generator" in line for line in gen["failed"].values())
    overall = result["scores"]["verifiers"]["residual"]["overall"]
    assert overall["successes"] == 0 and overall["n"] == len(TASKS) * GRASPS_PER_OBJECT


def test_evaluate_takes_a_submission_or_a_generator_not_both(tmp_path, capsys):
    from dextog_gym.cli.main import main

    assert main(["leaderboard", "evaluate", "--out", str(tmp_path / "r.json")]) == 2
    assert main(["leaderboard", "evaluate", str(tmp_path), "--generator", "isf", "--out", str(tmp_path / "r.json")]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["leaderboard", "evaluate", "--generator", "no_such_source", "--out", str(tmp_path / "r.json")]) == 2

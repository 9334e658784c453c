"""The leaderboard end to end on a small submission: evaluate, resume after a kill, verify, tamper, submit, render."""

from __future__ import annotations

import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.evaluate import evaluate_submission
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, PRACTICE_SECRET, TASKS, current_inputs, secret_digest
from dextog_gym.leaderboard.scores import score
from dextog_gym.leaderboard.store import DuplicateEntryError, entries, submit
from dextog_gym.leaderboard.submission import META_FILE
from dextog_gym.leaderboard.verify import check_integrity, load_result, verify_result
from dextog_gym.paths import grasps_dir

META = {"method": "Tiny test generator", "authors": ["A. Tester"], "link": "https://example.org/tiny",
        "generator_version": "0.0.1", "ms_per_grasp": 3.5}
OBJECT = "stapler_000"  # a seen stapler; 3 grasps from the shipped rule set


def make_submission(folder: Path, meta: dict | None = None, grasps: int = 3) -> Path:
    folder.mkdir(parents=True)
    g = Grasps.load(grasps_dir() / "rule" / f"{OBJECT}.npz")
    g.select(np.arange(grasps)).save(folder / "mine.npz")
    (folder / META_FILE).write_text(json.dumps(meta or META))
    return folder


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory):
    root = tmp_path_factory.mktemp("lb")
    sub = make_submission(root / "sub")
    result = evaluate_submission(sub, root / "result.json", workers=2, progress=False)
    return root, sub, result


def test_the_result_names_its_inputs_and_scores_every_grasp_asked_for(evaluated):
    root, sub, result = evaluated
    assert load_result(root / "result.json") == json.loads((root / "result.json").read_text())
    assert set(result["submission"]["files"]) == {"mine.npz", META_FILE}
    assert result["protocol"]["version"] == 2 and result["protocol"]["grasps_per_object"] == GRASPS_PER_OBJECT
    assert result["track"] == "files" and result["secret_sha256"] == secret_digest(PRACTICE_SECRET)
    assert all("seed" not in e for c in result["cells"].values() for e in c["episodes"])  # seeds are not published
    assert result["run"]["mean_episode_steps"] > 0 and result["run"]["full_episodes"] is False
    assert result["selection"]["stapler"][OBJECT] == {"given": 3, "distinct_taken": 3, "shortfall": 17}
    assert result["inputs"] == current_inputs()
    assert set(result["inputs"]["verifiers"]["stapler"]) == {"controller", "residual"}
    assert sorted(result["cells"]) == ["stapler/seen/controller", "stapler/seen/residual"]
    for label, v in result["scores"]["verifiers"].items():
        seen = v["tasks"]["stapler"]["seen"]
        # 3 grasps of one object rolled out, its shortfall of 17 and the other 13 seen staplers' 20 count as failures
        assert seen["placed"] + seen["skipped"] == 3 and seen["missing"] == 17 + 13 * GRASPS_PER_OBJECT
        assert v["tasks"]["pen"]["all"]["successes"] == 0 and v["tasks"]["pen"]["all"]["n"] == 16 * GRASPS_PER_OBJECT
        lo, hi = seen["ci95"]
        assert lo <= seen["rate"] <= hi
    assert result["metrics"]["stapler/seen"]["summary"]["n"] == 3
    assert result["scores"]["metrics"]["overall"]["n"] == 3


def test_a_rerun_reuses_every_cell_and_gives_the_same_result(evaluated):
    root, sub, result = evaluated
    cells = sorted((root / "result.json.work" / "cells").glob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in cells]
    again = evaluate_submission(sub, root / "again.json", workers=1, progress=False)
    assert again["cells"] == result["cells"] and again["scores"] == result["scores"]
    rerun = evaluate_submission(sub, root / "result.json", workers=1, progress=False)
    assert [p.stat().st_mtime_ns for p in cells] == stamps and rerun["cells"] == result["cells"]


def test_a_killed_evaluation_resumes_and_agrees(evaluated, tmp_path):
    _, sub, result = evaluated
    out = tmp_path / "killed.json"
    cmd = [sys.executable, "-m", "dextog_gym.cli.main", "leaderboard", "evaluate", str(sub), "--out", str(out),
           "--workers", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    cells = tmp_path / "killed.json.work" / "cells"
    deadline = time.monotonic() + 240
    while not list(cells.glob("*.json")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run: after the first cell, before the result
    proc.wait()
    assert not out.exists()
    resumed = evaluate_submission(sub, out, workers=1, progress=False)
    assert resumed["cells"] == result["cells"] and resumed["scores"] == result["scores"]


def test_verify_passes_an_honest_result(evaluated):
    root, _, result = evaluated
    report = verify_result(root / "result.json", workers=1)
    n = sum(len(c["episodes"]) for c in result["cells"].values())
    assert report.ok, report.problems
    assert report.episodes_rerun == n and report.objects_remeasured == 1


def _write(path: Path, doc: dict) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_verify_catches_an_edited_score(evaluated, tmp_path):
    _, _, result = evaluated
    doc = copy.deepcopy(result)
    doc["scores"]["verifiers"]["residual"]["overall"]["successes"] += 1
    report = verify_result(_write(tmp_path / "r.json", doc), workers=1)
    assert any("scores do not follow" in p for p in report.problems)
    with pytest.raises(ValueError, match="scores do not follow"):
        check_integrity(doc)


def test_verify_catches_an_edited_episode_with_consistent_scores(evaluated, tmp_path):
    _, _, result = evaluated
    doc = copy.deepcopy(result)
    episode = doc["cells"]["stapler/seen/controller"]["episodes"][0]
    episode["success"] = not episode["success"]
    episode["skipped"] = None
    doc["scores"] = score(doc)  # a careful forger recomputes the scores
    check_integrity(doc)
    report = verify_result(_write(tmp_path / "r.json", doc), workers=1)
    assert any("re-run differs" in p and "success" in p for p in report.problems), report.problems


def test_verify_catches_a_removed_episode(evaluated, tmp_path):
    _, _, result = evaluated
    doc = copy.deepcopy(result)
    doc["cells"]["stapler/seen/residual"]["episodes"].pop()
    doc["scores"] = score(doc)
    report = verify_result(_write(tmp_path / "r.json", doc), workers=1, sample=0)
    assert any("planned episodes missing" in p for p in report.problems), report.problems


def test_verify_catches_a_changed_grasp_file(evaluated, tmp_path):
    root, sub, _ = evaluated
    copy_of = tmp_path / "sub"
    shutil.copytree(sub, copy_of)
    g = Grasps.load(copy_of / "mine.npz")
    g.replace(positions=g.positions + np.array([0.0, 0.0, 0.001])).save(copy_of / "mine.npz")
    report = verify_result(root / "result.json", submission=copy_of, workers=1)
    assert any("mine.npz" in p and "bytes differ" in p for p in report.problems)


def test_verify_refuses_what_is_not_a_result(tmp_path):
    for text in ("not json", json.dumps([1, 2]), json.dumps({"format": "something else"}),
                 json.dumps({"format": "dextog_gym.leaderboard_result/2", "cells": []})):
        with pytest.raises(ValueError):
            load_result(_write_text(tmp_path / "bad.json", text))


def _write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _variant(result: dict, i: int) -> dict:
    """A distinct, internally consistent result (as if for other grasps)."""
    doc = copy.deepcopy(result)
    doc["submission"]["digest"] = f"variant-{i}"
    doc["submission"]["meta"]["method"] = f"variant {i}"
    return doc


def _submit_one(args) -> str:
    doc, db, folder = args
    try:
        return submit(doc, Path(db), Path(folder))["id"]
    except DuplicateEntryError:
        return "duplicate"


def test_concurrent_submits_lose_nothing_and_admit_each_result_once(evaluated, tmp_path):
    _, _, result = evaluated
    db, folder = tmp_path / "lb.sqlite", tmp_path / "subs"
    distinct = [(_variant(result, i), str(db), str(folder)) for i in range(6)]
    same = [(_variant(result, 99), str(db), str(folder))] * 4
    with ProcessPoolExecutor(4) as ex:
        ids = list(ex.map(_submit_one, distinct + same))
    stored = entries(db)
    assert len(stored) == 7 and ids.count("duplicate") == 3
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted(e["id"] for e in stored)
    for e in stored:  # each JSON copy is the full result, and still consistent
        check_integrity(json.loads((folder / e["file"]).read_text()))
    with pytest.raises(DuplicateEntryError):
        submit(copy.deepcopy(result) | {"submission": distinct[0][0]["submission"]}, db, folder)


def test_a_re_evaluated_entry_replaces_its_old_one_and_only_its_own(evaluated, tmp_path):
    _, _, result = evaluated
    db, folder = tmp_path / "lb.sqlite", tmp_path / "subs"
    old = submit(_variant(result, 1), db, folder)
    other = submit(_variant(result, 2), db, folder)
    newer = _variant(result, 1)
    newer["submission"]["digest"] = "variant-1-re-evaluated"
    with pytest.raises(ValueError, match="variant 2"):  # another method's entry cannot be replaced
        submit(newer, db, folder, replaces=other["id"])
    with pytest.raises(ValueError, match="no such entry"):
        submit(newer, db, folder, replaces="000000000000")
    new = submit(newer, db, folder, replaces=old["id"])
    assert sorted(e["id"] for e in entries(db)) == sorted([other["id"], new["id"]])
    assert sorted(p.stem for p in folder.glob("*.json")) == sorted([other["id"], new["id"]])


def test_render_writes_markdown_and_a_page_for_every_task(evaluated, tmp_path):
    from dextog_gym.leaderboard.render import render

    _, _, result = evaluated
    db, folder = tmp_path / "lb.sqlite", tmp_path / "subs"
    for i in range(2):
        submit(_variant(result, i), db, folder)
    md, page = render(entries(db), tmp_path / "site")
    text, html = md.read_text(), page.read_text()
    assert "variant 0" in text and "variant 1" in text and "### stapler" in text
    assert "selection not controlled" in text and "No entries yet." in text  # the generator track is empty here
    for task in TASKS:
        assert f'id="files-task-{task}"' in html
    assert html.count("<svg") == 1 + len(TASKS) and "https://example.org/tiny" in html


def test_verify_catches_an_edited_metric_with_consistent_scores(evaluated, tmp_path):
    _, _, result = evaluated
    doc = copy.deepcopy(result)
    doc["metrics"]["stapler/seen"]["objects"][0]["pen_cm"][0] = 0.0
    doc["scores"] = score(doc)
    check_integrity(doc)
    report = verify_result(_write(tmp_path / "r.json", doc), workers=1)
    assert any("re-measured figures differ" in p for p in report.problems), report.problems


def test_submit_refuses_a_result_whose_metadata_was_made_hostile(evaluated):
    _, _, result = evaluated
    doc = copy.deepcopy(result)
    doc["submission"]["meta"]["link"] = "javascript:alert(1)"
    with pytest.raises(ValueError, match="link"):
        check_integrity(doc)


def test_markdown_escapes_what_would_break_a_table():
    from dextog_gym.leaderboard.render import _md_link

    text = _md_link({"method": "a|b [x](y)", "link": "https://e.org/a)b|c"})
    assert "|" not in text.replace("\\|", "") and text.endswith("(https://e.org/a%29b%7Cc)")


def test_verify_needs_the_secret_the_result_was_measured_with(evaluated):
    root, _, _ = evaluated
    report = verify_result(root / "result.json", workers=1, secret="not the secret")
    assert any("another secret" in p for p in report.problems) and report.episodes_rerun == 0


def test_another_secret_gives_other_episode_seeds_and_near_copies_count_once(evaluated, tmp_path):
    """20 copies of one grasp jittered by 1e-6 m are one distinct grasp: 19 failures of shortfall."""
    from dextog_gym.leaderboard.evaluate import protocol_grasps

    g = Grasps.load(grasps_dir() / "rule" / f"{OBJECT}.npz").select(np.zeros(20, dtype=int))
    jitter = np.random.default_rng(0).normal(scale=1e-6, size=g.positions.shape)
    clones = g.replace(positions=g.positions + jitter)
    chosen, taken = protocol_grasps(lambda oid, task: clones if oid == OBJECT else None, "stapler")
    assert len(chosen) == 1 and taken[OBJECT] == {"given": 20, "distinct_taken": 1, "shortfall": 19}
    from dextog_gym.leaderboard.protocol import episode_seed

    assert episode_seed("a") != episode_seed("b") and episode_seed(PRACTICE_SECRET) == episode_seed(PRACTICE_SECRET)

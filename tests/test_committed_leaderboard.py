"""The committed leaderboard is consistent: store, reviewable JSON copies, rendered pages and baselines agree,
and every result was measured on today's code, assets and verifiers (a change to any of them makes this fail
until the baselines are re-evaluated; docs/leaderboard.md says how)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from dextog_gym.leaderboard.baselines import BASELINES, GENERATOR_METHODS, METHODS, SANITY, UNHANDLED
from dextog_gym.leaderboard.evaluate import submission_digest
from dextog_gym.leaderboard.protocol import changed_inputs, current_inputs
from dextog_gym.leaderboard.render import markdown, page
from dextog_gym.leaderboard.store import entries
from dextog_gym.leaderboard.submission import load_submission
from dextog_gym.leaderboard.verify import check_integrity, load_result

FOLDER = Path(__file__).resolve().parents[1] / "leaderboard"
DB = FOLDER / "leaderboard.sqlite"


@pytest.fixture(scope="module")
def committed() -> list[dict]:
    found = entries(DB)
    assert found, f"{DB} holds no entries"
    return found


@pytest.fixture(scope="module")
def results(committed) -> dict[str, dict]:
    return {e["id"]: load_result(FOLDER / "submissions" / e["file"]) for e in committed}


def test_every_entry_has_its_json_copy_and_nothing_else_is_there(committed):
    files = sorted(p.name for p in (FOLDER / "submissions").glob("*"))
    assert files == sorted(e["file"] for e in committed)
    for e in committed:
        data = (FOLDER / "submissions" / e["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest()[:12] == e["id"]


def test_stored_results_are_internally_consistent(committed, results):
    for e in committed:
        result = results[e["id"]]
        check_integrity(result)  # scores follow from episodes, protocol is today's
        assert e["scores"] == result["scores"] and e["meta"] == result["submission"]["meta"]


def test_results_were_measured_on_todays_code_assets_and_verifiers(results):
    """Files entries on the public objects; generator entries on the practice secret's hidden objects, rebuilt."""
    from dextog_gym.leaderboard.hidden import hidden_objects
    from dextog_gym.leaderboard.protocol import PRACTICE_SECRET, secret_digest

    now = current_inputs()
    stale = {rid: changed_inputs(r["inputs"], now) for rid, r in results.items() if r["track"] == "files"}
    for rid, r in results.items():
        if r["track"] == "generator":
            assert r["secret_sha256"] == secret_digest(PRACTICE_SECRET)
            with hidden_objects(PRACTICE_SECRET, r["hidden_objects"]["per_category"]) as hidden:
                assert hidden.digest == r["hidden_objects"]["tree_sha256"]
                stale[rid] = changed_inputs(r["inputs"], current_inputs())
    assert not any(stale.values()), f"re-evaluate the baselines; changed inputs: {stale}"


def test_every_baseline_is_on_the_board_with_its_committed_grasps(committed, results):
    by_method = {e["method"]: e for e in committed if e["track"] == "files"}
    for name in BASELINES:
        entry = by_method[METHODS[name]]
        digest = submission_digest(load_submission(FOLDER / "baselines" / name))
        assert results[entry["id"]]["submission"]["digest"] == digest, name


def test_the_generator_track_holds_built_in_generators_with_measured_speed(committed, results):
    generators = [e for e in committed if e["track"] == "generator"]
    assert len(generators) >= 3 and {e["method"] for e in generators} <= set(GENERATOR_METHODS.values())
    for e in generators:
        r = results[e["id"]]
        assert r["run"]["ms_per_grasp"] > 0 and r["generation"]["isolated"] and r["hidden_objects"]["tree_sha256"]
        assert e["meta"]["ms_per_grasp"] == round(r["run"]["ms_per_grasp"], 1)


def test_the_generated_grasps_are_committed_beside_the_board(committed, results):
    """``dextog leaderboard verify leaderboard/submissions/<id>.json --submission leaderboard/generated/<name>``
    re-runs a generator entry from these bytes."""
    from dextog_gym.files import sha256_file

    for e in (e for e in committed if e["track"] == "generator"):
        r = results[e["id"]]
        folder = FOLDER / "generated" / r["submission"]["generator"]
        assert {p.name: sha256_file(p) for p in folder.iterdir()} == r["generated"]["files"], folder


def test_the_sanity_entries_rank_last_and_score_near_zero_on_every_task(committed):
    files = [e for e in committed if e["track"] == "files"]
    sanity = [e for e in files if e["method"] in {METHODS[n] for n in SANITY}]
    unhandled = {METHODS[n] for n in UNHANDLED}
    honest = [e for e in files if e not in sanity and e["method"] not in unhandled]
    assert len(sanity) == len(SANITY) and len(honest) == len(files) - len(SANITY) - len(UNHANDLED)
    assert min(e["ranking_score"] for e in honest) > max(e["ranking_score"] for e in sanity)
    for e in sanity + [e for e in files if e["method"] in unhandled]:
        for verifier in e["scores"]["verifiers"].values():
            for task, cells in verifier["tasks"].items():
                assert cells["all"]["rate"] <= 0.10, (e["method"], task, cells["all"])


def test_selecting_grasps_with_the_verifier_beats_the_grasps_it_selected_from(committed):
    """Why the files track is labelled "selection not controlled"."""
    by_method = {e["method"]: e for e in committed if e["track"] == "files"}
    assert by_method[METHODS["selection"]]["ranking_score"] > by_method[METHODS["rule"]]["ranking_score"]


def test_the_rendered_pages_are_up_to_date(committed):
    assert (FOLDER / "README.md").read_text(encoding="utf-8") == markdown(committed)
    assert (FOLDER / "index.html").read_text(encoding="utf-8") == page(committed)

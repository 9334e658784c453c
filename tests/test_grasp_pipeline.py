"""Lift test, grasp quality, the isf stages and the grasp CLI on small, committed inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dextog_gym.cli.main import main
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object
from dextog_gym.objects.shape import object_shape

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "stapler_000_lift.npz"  # two lift-passing isf grasps + one 12 cm above the object


@pytest.fixture(scope="module")
def fixture_grasps() -> Grasps:
    return Grasps.load(FIXTURE)


def test_lift_test_passes_held_objects_and_fails_empty_hands(fixture_grasps):
    from dextog_gym.grasp_sources.isf.lift import LIFT_M, lift_test

    result = lift_test(get_object("stapler_000"), fixture_grasps)
    assert result.passed.tolist() == [True, True, False]
    assert (result.rise_m[:2] > 0.8 * LIFT_M).all()
    assert abs(result.rise_m[2]) < 0.005  # the object never left the table


def test_lift_test_refuses_grasps_of_another_object(fixture_grasps):
    from dextog_gym.grasp_sources.isf.lift import lift_test

    with pytest.raises(ValueError, match="stapler_000"):
        lift_test(get_object("pen_000"), fixture_grasps)


def test_quality_of_a_real_grasp_and_of_a_hand_in_the_air(fixture_grasps):
    from dextog_gym.metrics.grasp_quality import evaluate

    shape = object_shape(get_object("stapler_000"))
    e = evaluate(shape, fixture_grasps.wrist_matrices()[:, :3, :3], fixture_grasps.positions, fixture_grasps.joints)
    assert (e["q1"][:2] > 0).all() and (e["pen_cm"][:2] < 0.5).all()
    assert (e["pad_contacts"][:2] >= 3).all() and e["thumb_contact"][:2].all()
    assert e["q1"][2] == 0 and e["num_contacts"][2] == 0 and e["pen_cm"][2] == 0


def test_hand_pushed_into_the_object_is_penetrating_and_scores_zero(fixture_grasps):
    from dextog_gym.metrics.grasp_quality import evaluate

    shape = object_shape(get_object("stapler_000"))
    g = fixture_grasps.select([0])
    centre = shape.points.mean(axis=0)
    pushed = g.positions + 0.5 * (centre - g.positions)
    e = evaluate(shape, g.wrist_matrices()[:, :3, :3], pushed, g.joints)
    assert e["pen_cm"][0] > 0.5 and e["q1_valid"][0] == 0


def test_approach_stage_is_deterministic_and_clears_the_object():
    import torch

    from dextog_gym.grasp_sources.isf.sampler import CLEARANCE_M, CandidateSampler

    shape = object_shape(get_object("bottle_000"))
    sampler = CandidateSampler(shape)
    a = sampler.approach(32, np.random.default_rng(4))
    b = sampler.approach(32, np.random.default_rng(4))
    assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2])
    rot, trans, q, _, _, ok = a
    frames, _ = sampler.hand.link_frames(q[ok], rot[ok], trans[ok])
    pts = sampler.hand.surface(frames).numpy().astype(float)
    deepest = shape.signed_distance(pts.reshape(-1, 3)).reshape(len(pts), -1).max(axis=1)
    # Clearance is searched on the 2 mm SDF grid; exact distances agree for nearly all candidates.
    assert ok.sum() >= 8 and np.mean(deepest < -0.5 * CLEARANCE_M + 0.001) >= 0.8


def test_cli_metrics_info_and_show(tmp_path, capsys):
    assert main(["metrics", str(FIXTURE)]) == 0
    out = capsys.readouterr().out
    assert "stapler_000" in out and "η_f" in out
    assert main(["grasps", "info", str(FIXTURE)]) == 0
    assert "3" in capsys.readouterr().out
    png = tmp_path / "g.png"
    assert main(["grasps", "show", str(FIXTURE), "--index", "1", "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000
    assert main(["grasps", "show", str(FIXTURE), "--index", "7", "--out", str(png)]) == 2
    assert "out of range" in capsys.readouterr().err


def test_cli_rejects_a_hostile_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert main(["metrics", str(bad)]) == 2
    assert "bad.npz" in capsys.readouterr().err


def test_rule_pipeline_on_saved_raw_grasps(tmp_path, fixture_grasps):
    from dextog_gym.grasp_sources.pipeline import make_rule
    from dextog_gym.grasp_sources.shipped import grasp_path

    raw_path = grasp_path("isf", "stapler_000", tmp_path)
    raw_path.parent.mkdir(parents=True)
    fixture_grasps.save(raw_path)
    report = make_rule(get_object("stapler_000"), 0, tmp_path)
    assert report.raw == 3 and report.lift_tested == 3 and report.lift_passed == 2
    raw = Grasps.load(raw_path)
    assert raw.extras["lift_pass"].tolist() == [1, 1, 0]
    rule = Grasps.load(grasp_path("rule", "stapler_000", tmp_path))
    assert len(rule) == report.rule_kept == int((raw.extras["rule_pass"] & (raw.extras["lift_pass"] == 1)).sum())
    assert rule.provenance["source"] == "rule"

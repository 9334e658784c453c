"""The baseline entries: valid submissions covering every object, rebuilt exactly as committed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.baselines import SANITY, SHIFT_M, SHIPPED, _centre, _shipped, build_baseline
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, TASKS
from dextog_gym.leaderboard.submission import load_submission

COMMITTED = Path(__file__).resolve().parents[1] / "leaderboard" / "baselines"


@pytest.mark.parametrize("name", SHIPPED + SANITY)  # selection rolls grasps out: checked below instead
def test_each_baseline_is_a_full_submission_and_matches_the_committed_one(name, tmp_path):
    sub = load_submission(build_baseline(name, tmp_path / name))
    assert all(not missing for missing in sub.coverage("all").values())
    for task in TASKS:
        fresh = Grasps.load(tmp_path / name / f"{task}.npz")
        counts = np.bincount(fresh.object_index)
        assert counts.max() <= GRASPS_PER_OBJECT and counts.min() >= 1
        committed = Grasps.load(COMMITTED / name / f"{task}.npz")
        assert committed.object_ids == fresh.object_ids
        for field in ("positions", "quats_wxyz", "joints", "object_index"):
            np.testing.assert_array_equal(getattr(committed, field), getattr(fresh, field))


def test_shifted_grasps_are_the_rule_grasps_3_cm_further_out(tmp_path):
    rule = Grasps.load(COMMITTED / "rule" / "stapler.npz")
    shifted = Grasps.load(COMMITTED / "shifted" / "stapler.npz")
    np.testing.assert_array_equal(rule.joints, shifted.joints)
    oid = rule.object_ids[0]
    centre = _centre(oid)
    a, b = rule.for_object(oid).positions, shifted.for_object(oid).positions
    gained = np.linalg.norm(b - centre, axis=1) - np.linalg.norm(a - centre, axis=1)
    np.testing.assert_allclose(gained, SHIFT_M, atol=1e-6)


def test_the_selection_entry_is_the_rule_candidates_reordered():
    """Each object's rows are its 40 rule candidates, the verified ones first (built by running the verifier)."""
    from dextog_gym.leaderboard.selection import CANDIDATES_PER_OBJECT

    for task in TASKS:
        chosen = Grasps.load(COMMITTED / "selection" / f"{task}.npz")
        pool = _shipped("rule", task, per_object=CANDIDATES_PER_OBJECT)
        assert chosen.object_ids == pool.object_ids
        for oid in pool.object_ids:
            a, b = chosen.for_object(oid), pool.for_object(oid)
            key = lambda g: sorted(map(tuple, np.round(np.c_[g.positions, g.joints], 9)))
            assert len(a) == len(b) and key(a) == key(b), oid

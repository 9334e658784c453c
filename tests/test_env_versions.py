"""Env versions follow Gymnasium's rule, and BottleCap-v1 measures whether the hand holds the cap."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest

import dextog_gym
from dextog_gym.envs.table import ENV_IDS, ENV_VERSION, VERSION_HISTORY
from dextog_gym.grasps import Grasps
from dextog_gym.paths import grasps_dir


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_the_old_ids_raise_gymnasiums_deprecation_error(env_id):
    assert env_id.endswith(f"-{ENV_VERSION}") and ENV_VERSION in VERSION_HISTORY
    old = env_id.rsplit("-", 1)[0] + "-v0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(gym.error.DeprecatedEnv):
            gym.make(old)
        with pytest.raises(gym.error.DeprecatedEnv, match=ENV_VERSION):
            dextog_gym.make(old)


def _bottle_env(grasps: Grasps, tmp_path):
    path = tmp_path / "g.npz"
    grasps.save(path)
    return dextog_gym.make("DexTOG/BottleCap-v1", grasp_source=str(path), objects=list(grasps.object_ids),
                           disable_env_checker=True)


def test_a_bottle_grasp_that_does_not_grip_the_cap_can_never_succeed(tmp_path):
    """Open hands and rule grasps turned away from the cap: can_succeed is False from the reset on, and
    no step makes is_success latch, whatever the cap does."""
    from dextog_gym.hand.model import OPEN_POSE

    rule = Grasps.load(grasps_dir() / "rule" / "bottle_000.npz").select(np.arange(3))
    opened = rule.replace(joints=np.broadcast_to(OPEN_POSE, rule.joints.shape).copy(),
                          positions=rule.positions + np.array([0.0, 0.0, 0.03]))
    env = _bottle_env(opened, tmp_path)
    try:
        for i in range(3):
            _, info = env.reset(seed=i, options={"object_id": "bottle_000", "grasp_index": i})
            assert info["can_succeed"] is False
            env.unwrapped.scene.obj.set_theta(1.0)  # even a cap turned by something else
            _, _, _, _, info = env.step(np.zeros(30))
            assert info["is_success"] is False and info["reward_completion"] == 0.0
    finally:
        env.close()


def test_a_rule_grasp_grips_the_cap_and_turning_it_succeeds(tmp_path):
    rule = Grasps.load(grasps_dir() / "rule" / "bottle_000.npz")
    env = _bottle_env(rule, tmp_path)
    try:
        gripped = 0
        for i in range(min(4, len(rule))):
            _, info = env.reset(seed=i, options={"object_id": "bottle_000", "grasp_index": i})
            gripped += info["can_succeed"]
            if info["can_succeed"]:
                env.unwrapped.scene.obj.set_theta(0.9)
                _, _, _, _, info = env.step(np.zeros(30))
                assert info["is_success"] is True
        assert gripped >= 2
    finally:
        env.close()

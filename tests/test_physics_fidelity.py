"""Hand joints stay inside their URDF limits and task joints inside their stops when a policy pushes.

Random actions (seeded) drive the hand into the object in every env, as an untrained policy would. Before
issue 16's fix (no joint armature, a 300 N wrist, the stop motor alone) joints went up to 0.7 rad past
their limits and a trigger 0.3 rad past its stop; benchmarks/physics_fidelity.py measures both settings.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import dextog_gym
from dextog_gym.hand import model, pybullet_hand
from dextog_gym.objects import pybullet_object

TOLERANCE_RAD = 0.02
STEPS = 40


def worst_violations(env_id: str, steps: int = STEPS, seed: int = 0) -> tuple[float, float]:
    """(worst hand-joint violation in rad, worst task-joint overshoot past its stop in joint units)."""
    lower, upper = (np.asarray(v) for v in model.joint_limits())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = dextog_gym.make(env_id, disable_env_checker=True)
        env.reset(seed=seed)
    scene = env.unwrapped.scene
    lo, hi = scene.obj.limits
    rng = np.random.default_rng(seed)
    hand = stop = 0.0
    try:
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 30).astype(np.float32))
            q = scene.joint_positions()
            hand = max(hand, float(np.max(np.maximum(q - upper, lower - q))))
            t = scene.obj.joint_position()
            stop = max(stop, t - hi, lo - t)
    finally:
        env.close()
    return hand, stop


@pytest.mark.parametrize("env_id", dextog_gym.ENV_IDS)
def test_random_pushes_keep_joints_inside_their_limits(env_id):
    hand, stop = worst_violations(env_id)
    assert hand <= TOLERANCE_RAD, f"a hand joint went {hand:.3f} rad past its URDF limit"
    # the stop lets a joint go LIMIT_SLACK past before it engages, and puts it back within that
    assert stop <= pybullet_object.LIMIT_SLACK + 1e-6, f"the task joint went {stop:.4f} past its stop"


def test_the_check_fails_on_the_physics_before_the_fix(monkeypatch):
    monkeypatch.setattr(pybullet_hand, "JOINT_ARMATURE", 0.0)
    monkeypatch.setattr(pybullet_hand, "WRIST_MAX_FORCE", 300.0)
    monkeypatch.setattr(pybullet_object, "PROJECT_THROUGH_STOP", False)
    hand, stop = worst_violations("DexTOG/BottleCap-v0", steps=20)
    assert hand > TOLERANCE_RAD
    hand, stop = worst_violations("DexTOG/SprayerTrigger-v0", steps=20)
    assert stop > pybullet_object.LIMIT_SLACK

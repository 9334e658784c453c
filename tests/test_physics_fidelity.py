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


def worst_violations(env_id: str, steps: int = STEPS, seed: int = 0) -> tuple[float, float, float, str]:
    """Worst hand-joint violation (rad), how far the task joint went past its end-of-travel stop and past its
    rest stop (joint units), and the task joint's kind."""
    lower, upper = (np.asarray(v) for v in model.joint_limits())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = dextog_gym.make(env_id, disable_env_checker=True)
        env.reset(seed=seed)
    scene = env.unwrapped.scene
    obj = scene.obj
    full = obj._full_stop()
    rest = obj.limits[0] if full == obj.limits[1] else obj.limits[1]
    outward = 1.0 if full > rest else -1.0  # from rest toward the end of travel
    rng = np.random.default_rng(seed)
    hand = past_full = past_rest = 0.0
    try:
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 30).astype(np.float32))
            q = scene.joint_positions()
            hand = max(hand, float(np.max(np.maximum(q - upper, lower - q))))
            t = obj.joint_position()
            past_full, past_rest = max(past_full, (t - full) * outward), max(past_rest, (rest - t) * outward)
    finally:
        env.close()
    return hand, past_full, past_rest, obj.task_joint.kind


@pytest.mark.parametrize("env_id", dextog_gym.ENV_IDS)
def test_random_pushes_keep_joints_inside_their_limits(env_id):
    hand, past_full, past_rest, kind = worst_violations(env_id)
    assert hand <= TOLERANCE_RAD, f"a hand joint went {hand:.3f} rad past its URDF limit"
    # the stop engages LIMIT_SLACK past a limit; the rest stop gives REST_STOP_GIVE more (it carries the object)
    slack = pybullet_object.LIMIT_SLACK + 1e-6
    give = pybullet_object.REST_STOP_GIVE[kind]
    assert past_full <= slack, f"the task joint went {past_full:.4f} past its end stop"
    assert past_rest <= slack + give, f"the task joint went {past_rest:.4f} past its rest stop"


def test_the_check_fails_on_the_physics_before_the_fix(monkeypatch):
    monkeypatch.setattr(pybullet_hand, "JOINT_ARMATURE", 0.0)
    monkeypatch.setattr(pybullet_hand, "WRIST_MAX_FORCE", 300.0)
    monkeypatch.setattr(pybullet_object, "PROJECT_THROUGH_STOP", False)
    hand, _, _, _ = worst_violations("DexTOG/BottleCap-v1", steps=20)
    assert hand > TOLERANCE_RAD
    # Seed 1: its random actions pull the trigger to its stop (which seed does depends on the grasp drawn).
    _, past_full, _, _ = worst_violations("DexTOG/SprayerTrigger-v1", steps=20, seed=1)
    assert past_full > pybullet_object.LIMIT_SLACK

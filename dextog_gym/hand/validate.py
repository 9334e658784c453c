"""Measured facts about the hand asset, for ``dextog render`` and ``dextog assets validate``.

The tests assert limits on the same quantities; this module prints the numbers so a
newcomer sees them on their own machine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dextog_gym.hand import model
from dextog_gym.physics import connect, disconnect
from dextog_gym.physics import pybullet as p

LIMIT_SETTLE_STEPS = 360


@dataclass(frozen=True)
class HandReport:
    joints: int
    limit_error_rad: float  # worst distance to a joint limit after driving every joint to it
    open_pose_self_contacts: int
    fk_max_error_m: float | None  # torch FK vs pybullet link frames; None without torch


def _limit_error(client: int) -> float:
    from dextog_gym.hand.pybullet_hand import ShadowHand

    worst = 0.0
    for target in model.joint_limits():
        hand = ShadowHand.load(client, self_collision=False)
        hand.set_joint_targets(target)
        for _ in range(LIMIT_SETTLE_STEPS):
            p.stepSimulation(physicsClientId=client)
        worst = max(worst, float(np.abs(hand.joint_positions() - target).max()))
        p.removeBody(hand.body, physicsClientId=client)
    return worst


def _fk_error(client: int, n: int, seed: int) -> float | None:
    try:
        import torch

        from dextog_gym.hand.fk_torch import TorchHandFK
    except ImportError:
        return None
    from dextog_gym.hand.pybullet_hand import ShadowHand

    rng = np.random.default_rng(seed)
    lower, upper = model.joint_limits()
    pos = rng.uniform(-0.5, 0.5, (n, 3))
    quat = rng.normal(size=(n, 4))
    quat /= np.linalg.norm(quat, axis=1, keepdims=True)
    q = rng.uniform(lower, upper, (n, model.NUM_JOINTS))
    out = TorchHandFK()(torch.as_tensor(pos), torch.as_tensor(quat), torch.as_tensor(q))
    hand = ShadowHand.load(client, self_collision=False)
    worst = 0.0
    for b in range(n):
        hand.set_wrist_pose(pos[b], quat[b])
        hand.set_joint_positions(q[b])
        for name, (link_pos, _) in hand.link_poses().items():
            worst = max(worst, float(np.abs(out[name][b, :3, 3].numpy() - link_pos).max()))
    return worst


def hand_report(n_fk: int = 100, seed: int = 0) -> HandReport:
    from dextog_gym.hand.pybullet_hand import ShadowHand

    client = connect(table=False)
    try:
        hand = ShadowHand.load(client)
        for _ in range(10):
            p.stepSimulation(physicsClientId=client)
        contacts = len(p.getContactPoints(hand.body, hand.body, physicsClientId=client))
        p.removeBody(hand.body, physicsClientId=client)
        return HandReport(model.NUM_JOINTS, _limit_error(client), contacts, _fk_error(client, n_fk, seed))
    finally:
        disconnect(client)

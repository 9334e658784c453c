"""The paper's lift test: hold the grasp, lift the wrist 5 cm with gravity on, see if the object comes.

One pybullet world per call; the hand and object are loaded once and reset per grasp (reloading
URDFs would cost more than the test). Every object is free for the test, bottles included (the
paper validates task-agnostic grasps before the task decides what is fixed).

Fingers are commanded a little past the stored joints (``hand/grip.py``), so the position motors
press the pads into the object with force, as a closing hand would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.hand.grip import squeeze_targets
from dextog_gym.hand.transforms import matrix_to_quat_wxyz, quat_wxyz_to_matrix
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.physics import PHYSICS_HZ

LIFT_M = 0.05
SETTLE_S = 0.15  # fingers close on the object before the lift
LIFT_S = 0.5
HOLD_S = 0.3
PASS_FRACTION = 0.8  # the object must rise at least 4 of the 5 cm and still be up after the hold
CLEARANCE_MARGIN_M = 0.003  # grasps reaching under the object start this far above the table
@dataclass(frozen=True)
class LiftResult:
    passed: np.ndarray  # [N] bool
    rise_m: np.ndarray  # [N] object rise at the end of the hold


def lift_test(asset: ObjectAsset, grasps: Grasps) -> LiftResult:
    """Run the lift test on every grasp of ``grasps`` (all for ``asset``)."""
    from dextog_gym.hand.pybullet_hand import ShadowHand
    from dextog_gym.metrics.grasp_quality import hand_below_table_m
    from dextog_gym.objects.pybullet_object import ArticulatedObject
    from dextog_gym.objects.shape import object_shape
    from dextog_gym.physics import connect, disconnect
    from dextog_gym.physics import pybullet as p

    ids = set(np.asarray(grasps.object_ids)[np.unique(grasps.object_index)]) if len(grasps) else set()
    if ids - {asset.id}:
        raise ValueError(f"lift_test got grasps for {sorted(ids)} but the object is {asset.id}")
    client = connect(table=True)
    try:
        obj = ArticulatedObject.load(client, asset, fixed_base=False)
        start_pos, start_orn = p.getBasePositionAndOrientation(obj.body, physicsClientId=client)
        base_pos, base_orn = obj.base_pose()
        world = np.eye(4)
        world[:3, :3] = quat_wxyz_to_matrix([base_orn[3], *base_orn[:3]])
        world[:3, 3] = base_pos
        hand = ShadowHand.load(client, wrist_pos=(0, 0, 1.0))
        passed = np.zeros(len(grasps), dtype=bool)
        rise = np.zeros(len(grasps))
        wrists = grasps.wrist_matrices()
        below = hand_below_table_m(object_shape(asset), wrists[:, :3, :3], wrists[:, :3, 3], grasps.joints)
        raise_m = np.where(below > 0, below + CLEARANCE_MARGIN_M, 0.0)
        for i, wrist in enumerate(wrists):
            # A grasp that reaches under the object starts raised, object held in the air.
            lifted = world.copy()
            lifted[2, 3] += raise_m[i]
            p.resetBasePositionAndOrientation(obj.body, np.add(start_pos, [0, 0, raise_m[i]]), start_orn,
                                              physicsClientId=client)
            p.resetBaseVelocity(obj.body, [0, 0, 0], [0, 0, 0], physicsClientId=client)
            obj.set_theta(0.0)
            obj.apply_resistance()
            pose = lifted @ wrist
            quat = matrix_to_quat_wxyz(pose[:3, :3])
            hand.set_wrist_pose(pose[:3, 3], quat)
            q = grasps.joints[i]
            hand.set_joint_positions(q)
            hand.set_joint_targets(squeeze_targets(q))
            z0 = obj.base_pose()[0][2]
            for _ in range(int(SETTLE_S * PHYSICS_HZ)):
                p.stepSimulation(physicsClientId=client)
            steps = int(LIFT_S * PHYSICS_HZ)
            for k in range(1, steps + int(HOLD_S * PHYSICS_HZ) + 1):
                up = LIFT_M * min(1.0, k / steps)
                hand.drive_wrist(pose[:3, 3] + np.array([0.0, 0.0, up]), quat)
                p.stepSimulation(physicsClientId=client)
            rise[i] = obj.base_pose()[0][2] - z0
            passed[i] = rise[i] >= PASS_FRACTION * LIFT_M
        return LiftResult(passed, rise)
    finally:
        disconnect(client)

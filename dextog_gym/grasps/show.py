"""A picture of one grasp on its object at rest (TinyRenderer, headless).

The hand is placed kinematically (no physics step): what you see is exactly the stored grasp,
so a grasp floating beside its object or sunk into it is obvious.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dextog_gym.hand.transforms import matrix_to_quat_wxyz, quat_wxyz_to_matrix
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.render import Camera, render, save_png


def render_grasp(asset: ObjectAsset, position: np.ndarray, quat_wxyz: np.ndarray, joints: np.ndarray,
                 yaw: float = 35.0, pitch: float = -25.0, width: int = 640, height: int = 480) -> np.ndarray:
    """Render the hand at a grasp (wrist pose in the object frame) on ``asset`` in its resting pose."""
    from dextog_gym.hand.pybullet_hand import ShadowHand
    from dextog_gym.objects.pybullet_object import ArticulatedObject
    from dextog_gym.physics import connect, disconnect

    client = connect(table=True)
    try:
        obj = ArticulatedObject.load(client, asset)
        pos, orn = obj.base_pose()
        # A grasp reaching under a hand-held object is shown with the object raised clear of the table.
        from dextog_gym.metrics.grasp_quality import hand_below_table_m
        from dextog_gym.objects.shape import object_shape

        below = float(hand_below_table_m(object_shape(asset), quat_wxyz_to_matrix(quat_wxyz)[None],
                                         np.asarray(position)[None], np.asarray(joints)[None])[0])
        if below > 0:
            from dextog_gym.physics import pybullet as pb

            lift = np.array([0.0, 0.0, below + 0.003])
            body_pos, body_orn = pb.getBasePositionAndOrientation(obj.body, physicsClientId=client)
            pb.resetBasePositionAndOrientation(obj.body, np.add(body_pos, lift), body_orn, physicsClientId=client)
            pos = np.add(pos, lift)
        world = np.eye(4)
        world[:3, :3] = quat_wxyz_to_matrix([orn[3], orn[0], orn[1], orn[2]])
        world[:3, 3] = pos
        grasp = np.eye(4)
        grasp[:3, :3] = quat_wxyz_to_matrix(quat_wxyz)
        grasp[:3, 3] = position
        wrist = world @ grasp
        ShadowHand.load(client, wrist[:3, 3], matrix_to_quat_wxyz(wrist[:3, :3]), joints, self_collision=False)
        size = float(np.max(asset.annotation.size_m))
        target = 0.5 * (pos + wrist[:3, 3] + wrist[:3, :3] @ np.array([0.0, 0.0, 0.08]))
        camera = Camera(target=tuple(target), distance=1.6 * size + 0.15, yaw=yaw, pitch=pitch,
                        width=width, height=height)
        return render(client, camera)
    finally:
        disconnect(client)


def save_grasp_picture(asset: ObjectAsset, position, quat_wxyz, joints, out: Path | str, **kwargs) -> Path:
    return save_png(render_grasp(asset, np.asarray(position), np.asarray(quat_wxyz), np.asarray(joints), **kwargs), out)

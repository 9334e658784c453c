"""The 30-D action: deltas of the wrist target and the 24 joint targets, scaled per component.

Components: 0–2 wrist translation (world x, y, z), 3–5 wrist rotation (axis-angle, world axes,
about the palm centre), 6–29 joint targets in ``JOINT_NAMES`` order.
A zero action leaves every target where it is, so the hand keeps the grasp it was placed in.
The wrist target stays inside a box around its start (``WORKSPACE_M``) so a policy cannot fling
the hand out of the scene; joint targets stay inside the URDF limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dextog_gym.hand import model
from dextog_gym.hand.transforms import axis_angle_to_matrix

ACTION_SIZE = 6 + model.NUM_JOINTS
# Per control step at full deflection. At frame skip 8 (30 Hz control) that is 0.3 m/s and
# 1.5 rad/s for the wrist, 2.4 rad/s for the fingers: a lift of ĥ = 10 cm takes 10 steps.
TRANSLATION_M = 0.01
ROTATION_RAD = 0.05
JOINT_RAD = 0.08
WORKSPACE_M = 0.30
_LOWER, _UPPER = model.joint_limits()


def check_action(action) -> np.ndarray:
    """The action as a float array, or a ValueError that says what is wrong (nothing is applied)."""
    try:
        arr = np.asarray(action, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"action must be {ACTION_SIZE} numbers, got {type(action).__name__}") from None
    if arr.shape != (ACTION_SIZE,):
        raise ValueError(f"action must have shape ({ACTION_SIZE},), got {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"action has non-finite values at indices {bad.tolist()}")
    return np.clip(arr, -1.0, 1.0)


@dataclass
class Targets:
    """Where the controllers are told to go; actions move these, physics chases them."""

    wrist_pos: np.ndarray
    wrist_rot: np.ndarray
    joints: np.ndarray
    wrist_home: np.ndarray
    pivot_local: np.ndarray  # palm centre in the wrist frame: rotations turn the hand about it

    def apply(self, action: np.ndarray) -> None:
        move = action[:3] * TRANSLATION_M
        self.wrist_pos = np.clip(self.wrist_pos + move, self.wrist_home - WORKSPACE_M, self.wrist_home + WORKSPACE_M)
        turn = action[3:6] * ROTATION_RAD
        angle = float(np.linalg.norm(turn))
        if angle > 1e-12:
            d_rot = axis_angle_to_matrix(turn / angle, angle)
            pivot = self.wrist_pos + self.wrist_rot @ self.pivot_local
            self.wrist_pos = pivot + d_rot @ (self.wrist_pos - pivot)
            self.wrist_rot = d_rot @ self.wrist_rot
        self.joints = np.clip(self.joints + action[6:] * JOINT_RAD, _LOWER, _UPPER)

"""The flat observation vector, element by element (one table; docs and tests read it).

Positions are in metres in the object frame (the object's URDF base frame, so a turned object
looks the same), except where a row says otherwise. Joint angles are normalised to [-1, 1] over
their limits. The vector is float32 and every element is finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dextog_gym.hand import model


@dataclass(frozen=True)
class ObsField:
    name: str
    size: int
    meaning: str


OBS_FIELDS: tuple[ObsField, ...] = (
    ObsField("joints", 24, "hand joint angles, normalised to [-1, 1] over the URDF limits (JOINT_NAMES order)"),
    ObsField("palm_pos", 3, "palm centre in the object frame"),
    ObsField("palm_rot6d", 6, "palm (wrist) orientation in the object frame: first two columns of the rotation"),
    ObsField("fingertips", 15, "pad centres of th, ff, mf, rf, lf in the object frame"),
    ObsField("object_displacement", 3, "object centre minus its centre after reset (world frame)"),
    ObsField("object_rot6d", 6, "object orientation in the world: first two columns of the rotation"),
    ObsField("object_linvel", 3, "object linear velocity (world, m/s)"),
    ObsField("object_angvel", 3, "object angular velocity (world, rad/s)"),
    ObsField("theta", 1, "task-joint progress θ (0 at rest, 1 fully done)"),
    ObsField("functional_to_palm", 3, "functional part centre minus palm centre (world)"),
    ObsField("palm_displacement", 3, "palm centre minus its position after reset (world)"),
    ObsField("grasp_joints", 24, "the initial grasp's joint angles, normalised like `joints`"),
)
OBS_SIZE = sum(f.size for f in OBS_FIELDS)
OBS_SLICES: dict[str, slice] = {}
_start = 0
for _f in OBS_FIELDS:
    OBS_SLICES[_f.name] = slice(_start, _start + _f.size)
    _start += _f.size
# A bound the physics never reaches in a sane episode; finite so the Box is well formed.
OBS_BOUND = 100.0

_LOWER, _UPPER = model.joint_limits()


def normalise_joints(q: np.ndarray) -> np.ndarray:
    return 2.0 * (np.asarray(q) - _LOWER) / (_UPPER - _LOWER) - 1.0


def rot6d(rot: np.ndarray) -> np.ndarray:
    return rot[:, :2].T.reshape(-1)


def build_observation(*, joints: np.ndarray, palm: np.ndarray, wrist_rot: np.ndarray, pads: np.ndarray,
                      object_frame: np.ndarray, object_com: np.ndarray, object_com0: np.ndarray,
                      object_rot: np.ndarray, linvel: np.ndarray, angvel: np.ndarray, theta: float,
                      functional: np.ndarray, palm0: np.ndarray, grasp_joints_norm: np.ndarray) -> np.ndarray:
    """Assemble the vector in OBS_FIELDS order (world-frame inputs, object frame 4×4)."""
    r_inv = object_frame[:3, :3].T
    t = object_frame[:3, 3]
    parts = [
        normalise_joints(joints),
        r_inv @ (palm - t),
        rot6d(r_inv @ wrist_rot),
        ((pads - t) @ r_inv.T).reshape(-1),
        object_com - object_com0,
        rot6d(object_rot),
        linvel,
        angvel,
        [theta],
        functional - palm,
        palm - palm0,
        grasp_joints_norm,
    ]
    obs = np.concatenate([np.asarray(x, dtype=float).reshape(-1) for x in parts])
    return np.clip(np.nan_to_num(obs, nan=0.0, posinf=OBS_BOUND, neginf=-OBS_BOUND), -OBS_BOUND, OBS_BOUND).astype(np.float32)


def describe() -> list[tuple[str, str, str]]:
    """(indices, name, meaning) rows for docs and `--help` output."""
    rows = []
    for f in OBS_FIELDS:
        s = OBS_SLICES[f.name]
        rows.append((f"{s.start}-{s.stop - 1}" if f.size > 1 else str(s.start), f.name, f.meaning))
    return rows

"""The Shadow Hand: joint order, fingertip pads, pybullet loading, torch FK, surface samples.

Importing this package is light (numpy only). Heavier parts are separate modules, imported where
needed: ``pybullet_hand`` (pybullet), ``fk_torch`` (torch), ``surface``, ``show``, ``convert``.
"""

from dextog_gym.hand.model import (
    DISTAL_LINK,
    FINGERS,
    JOINT_NAMES,
    NUM_JOINTS,
    OPEN_POSE,
    PAD_NORMALS,
    PAD_POINTS,
    PALM_CENTER,
    PALM_LINK,
    PALM_NORMAL,
    ROOT_LINK,
    TIP_POINTS,
    joint_limits,
    validate_joints,
)

__all__ = [
    "DISTAL_LINK",
    "FINGERS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "OPEN_POSE",
    "PAD_NORMALS",
    "PAD_POINTS",
    "PALM_CENTER",
    "PALM_LINK",
    "PALM_NORMAL",
    "ROOT_LINK",
    "TIP_POINTS",
    "joint_limits",
    "validate_joints",
]

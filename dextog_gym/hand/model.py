"""The one source of truth for the hand's named facts: joint order, fingers, pads, palm, poses.

Everything geometric here is expressed in URDF link frames (``assets/hands/shadow_hand``), which
equal the MJCF body frames except the root (see ``convert.py``). Conventions worth knowing:

* Fingers flex about their link +x axis with positive angles, which swings the finger tips
  toward **-y**: -y is the palmar side of the palm and of every finger phalanx.
* The thumb's distal joint (THJ0) flexes about +y with negative angles, swinging the tip toward
  **-x** of ``thdistal``: -x is the thumb's palmar side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dextog_gym.hand.urdf import parse_urdf

JOINT_NAMES: tuple[str, ...] = (
    "WRJ1", "WRJ0",
    "FFJ3", "FFJ2", "FFJ1", "FFJ0",
    "MFJ3", "MFJ2", "MFJ1", "MFJ0",
    "RFJ3", "RFJ2", "RFJ1", "RFJ0",
    "LFJ4", "LFJ3", "LFJ2", "LFJ1", "LFJ0",
    "THJ4", "THJ3", "THJ2", "THJ1", "THJ0",
)  # fmt: skip
NUM_JOINTS = len(JOINT_NAMES)
FINGERS: tuple[str, ...] = ("th", "ff", "mf", "rf", "lf")
ROOT_LINK = "hand_base"
PALM_LINK = "palm"

# Distal link per finger and the pad on it: a point on the collision capsule's cylindrical surface,
# on the palmar side, a little distal of the capsule centre (where a fingertip pad presses), and
# the outward normal there. Capsule axes are the links' +z; radii are the MJCF ones.
DISTAL_LINK: dict[str, str] = {f: f"{f}distal" for f in FINGERS}
_FINGER_RADIUS = 0.00705  # ff/mf/rf/lf distal capsule radius
_THUMB_RADIUS = 0.00918  # th distal capsule radius
PAD_POINTS: dict[str, np.ndarray] = {
    "th": np.array([-_THUMB_RADIUS, 0.0, 0.016]),
    **{f: np.array([0.0, -_FINGER_RADIUS, 0.015]) for f in ("ff", "mf", "rf", "lf")},
}
PAD_NORMALS: dict[str, np.ndarray] = {
    "th": np.array([-1.0, 0.0, 0.0]),
    **{f: np.array([0.0, -1.0, 0.0]) for f in ("ff", "mf", "rf", "lf")},
}
# Finger tips (the MJCF "S_*tip" sites), in the distal link frames.
TIP_POINTS: dict[str, np.ndarray] = {
    "th": np.array([0.0, 0.0, 0.0275]),
    **{f: np.array([0.0, 0.0, 0.026]) for f in ("ff", "mf", "rf", "lf")},
}

# Palm: the centre of the palmar face of the main palm box (MJCF C_palm0, centre (0.011, 0, 0.038),
# half extents (0.032, 0.0111, 0.049)) and its outward normal, in the palm link frame.
PALM_CENTER = np.array([0.011, -0.0111, 0.038])
PALM_NORMAL = np.array([0.0, -1.0, 0.0])

# A relaxed open hand: straight fingers, thumb slightly rotated toward the palm. All inside limits,
# and (tested) free of self-contact.
OPEN_POSE = np.zeros(NUM_JOINTS)
OPEN_POSE[JOINT_NAMES.index("THJ4")] = 0.3
OPEN_POSE.setflags(write=False)


def joint_limits(urdf_path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(lower[24], upper[24])`` in JOINT_NAMES order, read from the URDF (parse is cached)."""
    robot = parse_urdf(urdf_path)
    by_name = {j.name: j for j in robot.revolute}
    missing = [n for n in JOINT_NAMES if n not in by_name]
    if missing:
        raise ValueError(f"URDF lacks joints {missing}")
    lower = np.array([by_name[n].lower for n in JOINT_NAMES])
    upper = np.array([by_name[n].upper for n in JOINT_NAMES])
    return lower, upper


def validate_joints(
    q, limits: tuple[np.ndarray, np.ndarray] | None = None, tol: float = 1e-6
) -> np.ndarray:
    """Check a 24-vector of joint angles: shape, finiteness and limits (default: the URDF's).

    Errors name the offending joints. Returns the values as floats, clipped onto the limits
    (values within ``tol`` outside count as on the limit: float noise from a round trip).
    """
    arr = np.asarray(q, dtype=float)
    if arr.shape != (NUM_JOINTS,):
        raise ValueError(f"expected {NUM_JOINTS} joint values in JOINT_NAMES order, got shape {arr.shape}")
    bad = [JOINT_NAMES[i] for i in np.flatnonzero(~np.isfinite(arr))]
    if bad:
        raise ValueError(f"non-finite joint values for {', '.join(bad)}")
    lower, upper = joint_limits() if limits is None else limits
    out = [
        f"{JOINT_NAMES[i]}={arr[i]:.4f} not in [{lower[i]:.4f}, {upper[i]:.4f}]"
        for i in np.flatnonzero((arr < lower - tol) | (arr > upper + tol))
    ]
    if out:
        raise ValueError("joint values outside limits: " + "; ".join(out))
    return np.clip(arr, lower, upper)

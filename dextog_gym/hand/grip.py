"""Holding a grasp with position motors: targets a little past the grasp, toward a closed hand.

A grasp's joint angles put the pads on the surface with no force. Commanding them exactly would
leave the pads touching but not pressing, so the lift test and the environments command every
flexion joint ``SQUEEZE_RAD`` further toward the power-closed pose: the motors then press the
pads into the object with force, as a closing hand would. Abduction joints are left alone.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.hand import model

# The power-closed hand: fingers curled, thumb wrapped toward the index and middle pads. The grasp
# sampler closes toward it (grasp_sources/isf/sampler.py), the squeeze below presses toward it.
CLOSED_JOINTS: dict[str, float] = {
    "FFJ2": 1.45, "FFJ1": 1.45, "FFJ0": 1.2, "MFJ2": 1.45, "MFJ1": 1.45, "MFJ0": 1.2,
    "RFJ2": 1.45, "RFJ1": 1.45, "RFJ0": 1.2, "LFJ2": 1.45, "LFJ1": 1.45, "LFJ0": 1.2,
    "THJ4": 1.0, "THJ3": 1.2, "THJ2": 0.0, "THJ1": 0.5, "THJ0": -0.6,
}  # fmt: skip
CLOSED = np.array([CLOSED_JOINTS.get(n, 0.0) for n in model.JOINT_NAMES])
CLOSED.setflags(write=False)
SQUEEZE_RAD = 0.15
# Joints the squeeze acts on: flexion of every finger and the thumb's closing joints (not abduction).
SQUEEZED = np.array([n[:2] in ("FF", "MF", "RF", "LF") and n[-1] in "012" or n in ("THJ4", "THJ3", "THJ1", "THJ0")
                     for n in model.JOINT_NAMES])
SQUEEZED.setflags(write=False)


def squeeze_targets(q: np.ndarray, squeeze_rad: float = SQUEEZE_RAD) -> np.ndarray:
    """Joint targets ``squeeze_rad`` past ``q`` toward the power-closed pose (fingers press, never open)."""
    lower, upper = model.joint_limits()
    direction = np.sign(CLOSED - np.asarray(q, dtype=float)) * SQUEEZED
    return np.clip(q + squeeze_rad * direction, lower, upper)

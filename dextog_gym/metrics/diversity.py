"""Joint-space diversity of a set of grasps.

A generator that always returns the same pre-shape scores well on Q1 yet is useless for tasks
that need different grasps; these two numbers expose that. Joints are normalised to [0, 1] by
the URDF limits so that wide and narrow joints weigh the same.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from dextog_gym.hand.model import NUM_JOINTS, joint_limits


def joint_diversity(
    q: ArrayLike, limits: tuple[ArrayLike, ArrayLike] | None = None
) -> dict[str, float]:
    """``{"mean_variance", "mean_range"}`` of joints ``q[N, 24]`` normalised by ``limits``.

    ``mean_variance``: mean over joints of the (population) variance of the normalised angles.
    ``mean_range``: mean over joints of max − min of the normalised angles. Joints with a zero
    range in ``limits`` (locked) are left out: they carry no choice. Fewer than two grasps → zeros.
    """
    arr = np.asarray(q, dtype=float)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, NUM_JOINTS)
    if arr.ndim != 2:
        raise ValueError(f"q must have shape [N, J], got {arr.shape}")
    lower, upper = joint_limits() if limits is None else limits
    lower = np.asarray(lower, dtype=float)
    upper = np.asarray(upper, dtype=float)
    if lower.shape != (arr.shape[1],) or upper.shape != (arr.shape[1],):
        raise ValueError(f"limits must have {arr.shape[1]} entries, got {lower.shape} and {upper.shape}")
    if len(arr) < 2:
        return {"mean_variance": 0.0, "mean_range": 0.0}
    span = upper - lower
    active = span > 0
    if not np.any(active):
        return {"mean_variance": 0.0, "mean_range": 0.0}
    norm = (arr[:, active] - lower[active]) / span[active]
    return {
        "mean_variance": float(norm.var(axis=0).mean()),
        "mean_range": float((norm.max(axis=0) - norm.min(axis=0)).mean()),
    }

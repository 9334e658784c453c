"""Protocol 2 counts distinct grasps: near-copies of a grasp already taken count once.

Without this, 20 copies of one good grasp jittered by 1e-6 m score like 20 grasps (measured: 20/20 against
14/20 for honest grasps of the same object). Two grasps of one object are near-copies when all three of
their differences are under the tolerances below; the first ``GRASPS_PER_OBJECT`` distinct grasps of each
object, in the submission's order, are evaluated and a shortfall counts as failures.

The tolerances are a few times what separates a grasp from its neighbours in the physics, and well under
the spread of an honest generator (``python benchmarks/distinct_grasps.py`` prints how many shipped
grasps each source loses to them).
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasps import Grasps

POSITION_TOL_M = 0.005  # wrist positions closer than 5 mm ...
ROTATION_TOL_DEG = 5.0  # ... wrist orientations within 5 degrees ...
JOINT_TOL_RAD = 0.05  # ... and no joint more than 0.05 rad (2.9 degrees) apart: a near-copy


def tolerances() -> dict[str, float]:
    return {"position_m": POSITION_TOL_M, "rotation_deg": ROTATION_TOL_DEG, "joint_rad": JOINT_TOL_RAD}


def _rotation_deg(q: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Angles (degrees) between unit quaternion ``q`` and each row of ``qs`` (q and -q are one rotation)."""
    dots = np.clip(np.abs(qs @ q), 0.0, 1.0)
    return np.degrees(2.0 * np.arccos(dots))


def distinct_indices(g: Grasps, limit: int | None = None) -> list[int]:
    """Rows of ``g`` (one object's grasps) that are not near-copies of an earlier kept row, in order."""
    pos, quat, joints = g.positions, g.quats_wxyz, g.joints
    kept: list[int] = []
    for i in range(len(g)):
        if limit is not None and len(kept) >= limit:
            break
        if kept:
            k = np.array(kept)
            close = ((np.linalg.norm(pos[k] - pos[i], axis=1) < POSITION_TOL_M)
                     & (_rotation_deg(quat[i], quat[k]) < ROTATION_TOL_DEG)
                     & (np.max(np.abs(joints[k] - joints[i]), axis=1) < JOINT_TOL_RAD))
            if close.any():
                continue
        kept.append(i)
    return kept


def take_distinct(g: Grasps, n: int) -> tuple[Grasps, dict[str, int]]:
    """The first ``n`` distinct grasps of one object and the counts behind them (given, taken, shortfall)."""
    idx = distinct_indices(g, n)
    counts = {"given": len(g), "distinct_taken": len(idx), "shortfall": n - len(idx)}
    return g.select(np.array(idx, dtype=int)), counts

"""Grasp sets: the one in-memory and on-disk format shared by sources, environments and metrics.

Light to import (numpy only). ``Grasps`` is the validated container (``format``); the hostile-safe
``.npz`` layout and its size caps live in ``storage``.
"""

from dextog_gym.grasps.format import JOINT_TOL, QUAT_TOL, Grasps
from dextog_gym.grasps.storage import FORMAT, MAX_GRASPS, GraspFileError

__all__ = ["FORMAT", "JOINT_TOL", "MAX_GRASPS", "QUAT_TOL", "GraspFileError", "Grasps"]

"""``isf``: task-agnostic grasps with good surface coverage (specs/algorithms.md §2.2).

``IsfSource`` serves the shipped raw grasps of catalogue objects and generates grasps live for
any other object (a user's URDF + annotation). torch is imported only when generating.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasp_sources.shipped import check_task, grasp_path, shipped_grasps
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset


class IsfSource:
    name = "isf"

    def __init__(self, seed: int = 0, shipped: bool = True):
        self.seed = seed
        self.shipped = shipped

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped raw set in file order (None: none shipped, or ``shipped=False``)."""
        check_task("isf", obj, task)
        grasps = shipped_grasps("isf", obj, task) if self.shipped else None
        return None if grasps is None else (grasps, self.name)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        from dextog_gym.grasps.file_source import FileSource

        check_task("isf", obj, task)
        path = grasp_path("isf", obj.id)
        if self.shipped and path.is_file():
            return FileSource(path).sample(obj, task, n, rng)
        from dextog_gym.grasp_sources.isf.generate import generate_raw

        grasps, _ = generate_raw(obj, n, int(rng.integers(2**31)))
        if len(grasps) == 0:
            raise ValueError(f"isf found no valid grasp for {obj.id}")
        return grasps

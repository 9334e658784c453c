"""``isf``: task-agnostic grasps with good surface coverage (specs/algorithms.md §2.2).

``IsfSource`` serves the shipped raw grasps of catalogue objects and generates grasps live for
any other object (a user's URDF + annotation). torch is imported only when generating.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset


class IsfSource:
    name = "isf"

    def __init__(self, seed: int = 0, shipped: bool = True):
        self.seed = seed
        self.shipped = shipped

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        from grasp_sources.pipeline import grasp_path
        from grasp_sources.file import FileSource

        if task != obj.category:
            raise ValueError(f"object {obj.id} is a {obj.category}; isf grasps for task {task!r} do not exist")
        path = grasp_path("isf", obj.id)
        if self.shipped and path.is_file():
            return FileSource(path).sample(obj, task, n, rng)
        from grasp_sources.isf.generate import generate_raw

        grasps, _ = generate_raw(obj, n, int(rng.integers(2**31)))
        if len(grasps) == 0:
            raise ValueError(f"isf found no valid grasp for {obj.id}")
        return grasps

"""``open_hand``: the no-grasp baseline — every shipped ``isf`` wrist pose, with the fingers open.

A verifier is meant to test the grasp it starts from, not to find one (the task controllers never
re-grasp). This source keeps where a generator put the wrist and throws away what it did with the
fingers, so it is the "nothing" row of the success tables: a verifier that succeeds here is measuring
itself. Poses whose open fingers sink into the object are skipped by the environment at placement,
as any unplaceable grasp is; the evaluation reports how many.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasp_sources.shipped import check_task, shipped_grasps
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import OPEN_POSE
from dextog_gym.objects.catalog import ObjectAsset


class OpenHandSource:
    name = "open_hand"
    shipped_from = ("isf",)  # its cells are stale when the isf sets change (workflows/suite.py)

    def fixed_grasps(self, obj: ObjectAsset, task: str) -> tuple[Grasps, str] | None:
        """The object's shipped isf set in file order, every row's joints set to the open hand."""
        check_task(self.name, obj, task)
        isf = shipped_grasps("isf", obj, task)
        return None if isf is None else (self._opened(isf), self.name)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        """``n`` rows of the shipped isf set drawn with ``rng`` (without repeats while the set lasts), opened."""
        check_task(self.name, obj, task)
        isf = shipped_grasps("isf", obj, task)
        if isf is None or len(isf) == 0:
            raise ValueError(f"open_hand serves the wrist poses of shipped isf sets; {obj.id} has none")
        rows = rng.choice(len(isf), size=n, replace=n > len(isf))
        return self._opened(isf.select(rows))

    def _opened(self, grasps: Grasps) -> Grasps:
        opened = np.broadcast_to(OPEN_POSE, grasps.joints.shape).copy()
        provenance = {**grasps.provenance, "source": self.name, "from": "isf wrist poses, fingers open"}
        return grasps.replace(joints=opened, extras={}, provenance=provenance)

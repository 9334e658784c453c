"""``rule_relaxed``: the task-agnostic grasps that come nearest to passing the paper's rule.

The rules keep about 0.1% of raw grasps (paper) — for some of our objects none at all (most
bottles: all five pads within 2.5 cm of the cap centre is rare for a sampler). An environment
still needs starting grasps for those objects, so this source ranks an object's shipped ``isf``
grasps by :func:`dextog_gym.grasp_sources.rules.rule_residual` and serves the best ones. Pads come from the
pybullet hand, so no torch is needed. Results carry ``rule_residual_m`` in their extras.
"""

from __future__ import annotations

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset

DEFAULT_POOL = 16  # best-ranked grasps served per object


def pads_with_pybullet(grasps: Grasps) -> tuple[np.ndarray, np.ndarray]:
    """Pad centres and normals [N, 5, 3] in the object frame, from pybullet forward kinematics."""
    from dextog_gym.hand import model
    from dextog_gym.hand.pybullet_hand import ShadowHand
    from dextog_gym.physics import connect, disconnect

    client = connect(table=False)
    try:
        hand = ShadowHand.load(client, self_collision=False)
        pads = np.zeros((len(grasps), 5, 3))
        normals = np.zeros((len(grasps), 5, 3))
        for i in range(len(grasps)):
            hand.set_wrist_pose(grasps.positions[i], grasps.quats_wxyz[i])
            hand.set_joint_positions(grasps.joints[i])
            got = hand.fingertip_pads()
            for k, f in enumerate(model.FINGERS):
                pads[i, k], normals[i, k] = got[f]
        return pads, normals
    finally:
        disconnect(client)


class RelaxedRuleSource:
    name = "rule_relaxed"

    def __init__(self, pool: int = DEFAULT_POOL):
        if pool < 1:
            raise ValueError(f"pool must be at least 1, got {pool}")
        self.pool = pool

    def ranked(self, obj: ObjectAsset, task: str) -> Grasps:
        """The object's best ``pool`` raw grasps, nearest to the rule first."""
        from dextog_gym.grasp_sources.shipped import grasp_path
        from dextog_gym.grasp_sources.rules import rule_residual

        from dextog_gym.grasps.file_source import FileSource
        from dextog_gym.objects.shape import object_shape

        if task != obj.category:
            raise ValueError(f"object {obj.id} is a {obj.category}; grasps for task {task!r} do not exist")
        path = grasp_path("isf", obj.id)
        if not path.is_file():
            raise ValueError(f"rule_relaxed ranks the shipped isf grasps; {obj.id} has none ({path})")
        raw = FileSource(path).grasps.for_object(obj.id)
        if len(raw) == 0:
            raise ValueError(f"no isf grasps for {obj.id}")
        pads, normals = pads_with_pybullet(raw)
        residual = rule_residual(object_shape(obj), task, pads, normals)
        order = np.argsort(residual, kind="stable")[: self.pool]
        best = raw.select(order)
        extras = {**best.extras, "rule_residual_m": residual[order]}
        provenance = {**best.provenance, "source": self.name, "ranked_from": "isf"}
        return best.replace(extras=extras, provenance=provenance)

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        best = self.ranked(obj, task)
        if n <= len(best):
            return best.select(rng.choice(len(best), size=n, replace=False))
        return best.select(rng.integers(0, len(best), size=n))

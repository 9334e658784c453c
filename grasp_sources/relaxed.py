"""``rule_relaxed``: the task-agnostic grasps that come nearest to passing the paper's rule.

The rules keep about 0.1% of raw grasps (paper) — for some of our objects none at all (most
bottles: all five pads within 2.5 cm of the cap centre is rare for a sampler). An environment
still needs starting grasps for those objects, so this source ranks an object's shipped ``isf``
grasps by :func:`dextog_gym.grasp_sources.rules.rule_residual` and serves the best ones. Pads come from the
pybullet hand, so no torch is needed. Results carry ``rule_residual_m`` in their extras.

Ranking needs the object's signed-distance shape (trimesh, ~1 s), which an environment should not pay
for at ``gym.make``; so the default ranking of every catalogue object ships as row numbers into its
isf file (``<assets>/grasps/rule_relaxed/ranking.json``, written by :func:`write_shipped_ranking`; a
test checks it equals the live ranking) and is read from there.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from dextog_gym.files import atomic_write_json, sha256_file
from dextog_gym.grasp_sources.shipped import check_task, grasp_path
from dextog_gym.grasps import Grasps
from dextog_gym.grasps.file_source import FileSource
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.paths import grasps_dir

DEFAULT_POOL = 16  # best-ranked grasps served per object
RANKING_FILE = "ranking.json"
RANKING_FORMAT = "dextog_gym.rule_relaxed_ranking/1"


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

    def ranked(self, obj: ObjectAsset, task: str, live: bool = False) -> Grasps:
        """The object's best ``pool`` raw grasps, nearest to the rule first.

        The order comes from the shipped ranking when it was made from this very isf file (same
        sha256) and ``pool`` is the default; otherwise (``live``, a user object, a changed file) it is
        computed here. Either way the grasps are the same rows of the isf file, bit for bit.
        """
        check_task(self.name, obj, task)
        path = grasp_path("isf", obj.id)
        if not path.is_file():
            raise ValueError(f"rule_relaxed ranks the shipped isf grasps; {obj.id} has none ({path})")
        source = FileSource(path)
        raw = source.grasps.for_object(obj.id)
        if len(raw) == 0:
            raise ValueError(f"no isf grasps for {obj.id}")
        entry = None if live or self.pool != DEFAULT_POOL else _shipped_ranking().get(obj.id)
        if entry is not None and entry["isf_sha256"] == source.sha256 and len(entry["rows"]) <= len(raw):
            order, residual = np.asarray(entry["rows"], dtype=np.int64), np.asarray(entry["residual_m"], np.float64)
        else:
            order, residual = self._rank(obj, task, raw)
        best = raw.select(order)
        extras = {**best.extras, "rule_residual_m": residual}
        provenance = {**best.provenance, "source": self.name, "ranked_from": "isf"}
        return best.replace(extras=extras, provenance=provenance)

    def _rank(self, obj: ObjectAsset, task: str, raw: Grasps) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``raw`` nearest to the rule first, and their residuals (metres)."""
        from dextog_gym.grasp_sources.rules import rule_residual
        from dextog_gym.objects.shape import object_shape

        pads, normals = pads_with_pybullet(raw)
        residual = rule_residual(object_shape(obj), task, pads, normals)
        order = np.argsort(residual, kind="stable")[: self.pool]
        return order, residual[order]

    def sample(self, obj: ObjectAsset, task: str, n: int, rng: np.random.Generator) -> Grasps:
        best = self.ranked(obj, task)
        if n <= len(best):
            return best.select(rng.choice(len(best), size=n, replace=False))
        return best.select(rng.integers(0, len(best), size=n))


def ranking_path() -> Path:
    return grasps_dir() / RelaxedRuleSource.name / RANKING_FILE


@lru_cache(maxsize=4)
def _read_ranking(path: Path, mtime_ns: int) -> dict[str, dict]:
    doc = json.loads(path.read_text())
    if doc.get("format") != RANKING_FORMAT:
        raise ValueError(f"{path}: not a rule_relaxed ranking (format {doc.get('format')!r})")
    return doc["objects"]


def _shipped_ranking() -> dict[str, dict]:
    path = ranking_path()
    return _read_ranking(path, path.stat().st_mtime_ns) if path.is_file() else {}


def write_shipped_ranking(objects: list[ObjectAsset], path: Path | None = None) -> Path:
    """Rank every object live and write the rows (exact in JSON) with the sha256 of the isf file ranked."""
    source = RelaxedRuleSource()
    doc: dict = {"format": RANKING_FORMAT, "pool": DEFAULT_POOL, "objects": {}}
    for obj in objects:
        isf = grasp_path("isf", obj.id)
        raw = FileSource(isf).grasps.for_object(obj.id)
        order, residual = source._rank(obj, obj.category, raw)
        doc["objects"][obj.id] = {"isf_sha256": sha256_file(isf), "rows": [int(i) for i in order],
                                  "residual_m": [float(r) for r in residual]}
    return atomic_write_json(path or ranking_path(), doc, indent=1)

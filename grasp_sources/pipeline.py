"""Per-object grasp pipeline: raw ``isf`` grasps → paper rules → lift test → ``rule`` set.

The paper lift-tests raw grasps and then applies the rules. Both are filters, so the kept set is
the same either way; we apply the cheap geometric rules first and lift-test (a) every
rule-passing grasp and (b) a seeded sample of raw grasps to measure the raw lift rate. The raw
file records ``rule_pass`` for every grasp and ``lift_pass`` (1 pass, 0 fail, -1 not tested).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dextog_gym.grasp_sources.shipped import grasp_path
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.shape import object_shape

RAW_LIFT_SAMPLE = 64  # raw grasps lift-tested per object for the raw lift rate


@dataclass
class ObjectReport:
    object_id: str
    task: str
    raw: int
    raw_seconds: float
    lift_tested: int
    lift_passed: int
    rule_pass: int
    rule_kept: int
    coverage: float
    mean_q1_rule: float
    mean_pen_rule_cm: float


def make_raw(asset: ObjectAsset, target: int, seed: int, root: Path | None = None, max_candidates: int = 20_000,
             overwrite: bool = False) -> Grasps:
    from dextog_gym.grasp_sources.isf.generate import generate_raw

    path = grasp_path("isf", asset.id, root)
    if path.is_file() and not overwrite:
        return Grasps.load(path)
    grasps, _ = generate_raw(asset, target, seed, max_candidates=max_candidates)
    grasps.save(path, compact=True)
    return grasps


def make_rule(asset: ObjectAsset, seed: int, root: Path | None = None) -> ObjectReport:
    """Rules + lift test on the saved raw grasps of ``asset``; writes the rule set, updates the raw file."""
    from dextog_gym.grasp_sources.isf.generate import object_seed
    from dextog_gym.grasp_sources.isf.lift import lift_test
    from dextog_gym.grasp_sources.rules import rule_mask

    raw_path = grasp_path("isf", asset.id, root)
    raw = Grasps.load(raw_path)
    shape = object_shape(asset)
    rules = rule_mask(shape, asset.category, raw.positions, raw.quats_wxyz, raw.joints)
    rng = object_seed(seed + 1, asset.id)
    sample = rng.permutation(len(raw))[:RAW_LIFT_SAMPLE]
    tested = np.union1d(np.flatnonzero(rules), sample).astype(int)
    lift = np.full(len(raw), -1, dtype=np.int8)
    if len(tested):
        lift[tested] = lift_test(asset, raw.select(tested)).passed.astype(np.int8)
    in_sample = np.zeros(len(raw), dtype=bool)
    in_sample[sample] = True
    extras = {**raw.extras, "rule_pass": rules, "lift_pass": lift, "lift_sample": in_sample}
    raw = raw.replace(extras=extras)
    raw.save(raw_path, compact=True)
    kept_idx = np.flatnonzero(rules & (lift == 1))
    kept = raw.select(kept_idx)
    kept = kept.replace(extras={k: v for k, v in kept.extras.items() if k in ("q1", "pen_cm", "pad_contacts", "family", "clearance_m")}, provenance={**raw.provenance, "source": "rule", "from": "isf", "rule_seed": seed, "created": time.strftime("%Y-%m-%d")})
    kept.save(grasp_path("rule", asset.id, root), compact=True)
    return ObjectReport(
        asset.id, asset.category, len(raw), float(raw.provenance.get("seconds", 0.0)),
        int((lift[sample] >= 0).sum()), int((lift[sample] == 1).sum()), int(rules.sum()), len(kept_idx),
        float(raw.provenance.get("coverage", 0.0)),
        float(kept.extras["q1"].mean()) if len(kept) else 0.0,
        float(kept.extras["pen_cm"].mean()) if len(kept) else 0.0,
    )

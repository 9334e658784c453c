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

from dextog_gym.grasp_sources.isf.generate import FUNCTIONAL, VERSION, generate_raw, only
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


RAW_EXTRAS = ("q1", "pen_cm", "pad_contacts", "family", "clearance_m")  # what generation writes
FUNCTIONAL_FAMILY = FUNCTIONAL


def _antipodal_provenance(raw: Grasps) -> dict:
    """The antipodal stream's own provenance (``isf-3`` files nest it under ``streams``; ``isf-2`` are it)."""
    return raw.provenance.get("streams", {}).get("antipodal", raw.provenance)


def make_raw(asset: ObjectAsset, target: int, seed: int, root: Path | None = None, max_candidates: int = 20_000,
             overwrite: bool = False, functional: int = 0) -> Grasps:
    """The object's raw set: ``target`` antipodal grasps (stream 0) plus ``functional`` grasps of the
    functional families (stream 2, distinct from the first part).

    Resumable and additive: an existing file's antipodal part is kept when it came from the same seed
    (each family has its own random stream, so this is what regenerating would give), and only the
    missing functional grasps are generated.
    """
    path = grasp_path("isf", asset.id, root)
    existing = Grasps.load(path) if path.is_file() and not overwrite else None
    if existing is not None and existing.provenance.get("seed") != seed:
        raise ValueError(f"{path} was generated with seed {existing.provenance.get('seed')}, not {seed}; "
                         "pass --overwrite to regenerate it")
    base = None
    if existing is not None:
        family = existing.extras.get("family", np.zeros(len(existing), dtype=np.int32))
        base = existing.select(np.flatnonzero(family != FUNCTIONAL_FAMILY))
        exhausted = int(_antipodal_provenance(base).get("candidates", 0)) >= max_candidates
        if len(base) < target and not exhausted:  # a larger target: the same stream, run further
            base = None
        elif (family == FUNCTIONAL_FAMILY).sum() >= functional:
            return existing
    if base is None:
        base, _ = generate_raw(asset, target, seed, max_candidates=max_candidates, family_probs=only("antipodal"))
    base = base.replace(extras={k: base.extras[k] for k in RAW_EXTRAS})
    base_prov = _antipodal_provenance(base)
    provenance = {**{k: v for k, v in base_prov.items() if k != "streams"}, "version": VERSION,
                  "streams": {"antipodal": base_prov}}
    grasps = base
    if functional > 0:
        extra, _ = generate_raw(asset, functional, seed, max_candidates=max_candidates, family_probs=only("functional"),
                                stream=FUNCTIONAL, avoid=base)
        extra = extra.replace(extras={k: extra.extras[k] for k in RAW_EXTRAS})
        grasps = Grasps.concat([base, extra])
        streams = {"antipodal": base_prov, "functional": extra.provenance}
        provenance.update(streams=streams, candidates=sum(int(p.get("candidates", 0)) for p in streams.values()),
                          valid=sum(int(p.get("valid", 0)) for p in streams.values()),
                          seconds=round(sum(float(p.get("seconds", 0.0)) for p in streams.values()), 2))
    grasps = grasps.replace(provenance=provenance)
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
    kept = kept.replace(extras={k: v for k, v in kept.extras.items() if k in RAW_EXTRAS}, provenance={**raw.provenance, "source": "rule", "from": "isf", "rule_seed": seed, "created": time.strftime("%Y-%m-%d")})
    kept.save(grasp_path("rule", asset.id, root), compact=True)
    return ObjectReport(
        asset.id, asset.category, len(raw), float(raw.provenance.get("seconds", 0.0)),
        int((lift[sample] >= 0).sum()), int((lift[sample] == 1).sum()), int(rules.sum()), len(kept_idx),
        float(raw.provenance.get("coverage", 0.0)),
        float(kept.extras["q1"].mean()) if len(kept) else 0.0,
        float(kept.extras["pen_cm"].mean()) if len(kept) else 0.0,
    )

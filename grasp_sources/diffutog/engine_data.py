"""The data engine's first two stages: raw (task-agnostic) grasps and rule-filtered (task) grasps.

Both read the shipped per-object sets (``assets/grasps/isf`` and ``assets/grasps/rule``), which
``dextog grasps generate`` builds with the same pipeline, and write one combined file each, so every
later stage (and ``dextog diffutog train --data``) names its data by a file and its hash.

Rule stage: the paper's rules keep ~0.1% of raw grasps; for some of our objects none (most
bottles). An object with fewer than ``min_rule`` rule grasps is topped up with the raw grasps
nearest to passing the rule (``rule_relaxed``), marked ``relaxed=1`` in the extras, so every seen
object teaches the model something about its task. Raw stage: ``agnostic_per_object`` raw grasps
per object (seeded), labelled with task-agnostic sentences at training time, as DexTOG-80K mixes
500 task-agnostic grasps per object into its data.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dextog_gym.grasp_sources.shipped import grasp_path
from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object, list_objects

MIN_RULE_GRASPS = 16
AGNOSTIC_PER_OBJECT = 32
_EXTRAS = ("relaxed",)


def _strip(grasps: Grasps, relaxed: bool) -> Grasps:
    """Drop per-source extras (they differ between sets) and mark relaxed grasps."""
    return grasps.replace(extras={"relaxed": np.full(len(grasps), int(relaxed), np.int8)})


def rule_stage_grasps(object_ids: list[str], min_rule: int = MIN_RULE_GRASPS) -> tuple[Grasps, dict[str, dict]]:
    """Rule grasps of every object, topped up with relaxed ones; plus per-object counts."""
    from dextog_gym.grasp_sources.relaxed import RelaxedRuleSource
    from dextog_gym.grasps.file_source import FileSource

    parts, counts = [], {}
    for oid in object_ids:
        asset = get_object(oid)
        path = grasp_path("rule", oid)
        rule = FileSource(path).grasps.for_object(oid) if path.is_file() else None
        n_rule = len(rule) if rule is not None else 0
        if n_rule:
            parts.append(_strip(rule, False))
        n_relaxed = 0
        if n_rule < min_rule:
            relaxed = RelaxedRuleSource(pool=min_rule - n_rule).ranked(asset, asset.category)
            n_relaxed = len(relaxed)
            parts.append(_strip(relaxed, True))
        counts[oid] = {"rule": n_rule, "relaxed": n_relaxed}
    if not parts:
        raise ValueError("rule stage: no grasps for any object")
    merged = Grasps.concat(parts)
    prov = {"source": "rule", "version": 1, "seed": None, "stage": "rule", "min_rule": min_rule}
    return merged.replace(provenance=prov), counts


def raw_stage_grasps(object_ids: list[str], per_object: int = AGNOSTIC_PER_OBJECT, seed: int = 0) -> Grasps:
    """``per_object`` shipped raw (isf) grasps per object, drawn with a seeded generator."""
    from dextog_gym.grasps.file_source import FileSource

    parts = []
    rng = np.random.default_rng(seed)
    for oid in object_ids:
        path = grasp_path("isf", oid)
        if not path.is_file():
            continue
        raw = FileSource(path).grasps.for_object(oid)
        if len(raw):
            pick = rng.choice(len(raw), size=min(per_object, len(raw)), replace=False)
            parts.append(_strip(raw.select(np.sort(pick)), False))
    if not parts:
        raise ValueError("raw stage: no shipped isf grasps for the given objects")
    merged = Grasps.concat(parts)
    prov = {"source": "isf", "version": 1, "seed": seed, "stage": "raw", "per_object": per_object}
    return merged.replace(provenance=prov)


def write_stage_data(out: str | os.PathLike, split: str = "seen", seed: int = 0,
                     categories: list[str] | None = None, max_objects: int | None = None,
                     agnostic_per_object: int = AGNOSTIC_PER_OBJECT) -> dict:
    """Write ``raw.npz`` and ``rule.npz`` for the ``split`` objects into ``out``; returns a summary."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    ids: list[str] = []
    for cat in categories or [None]:
        found = list_objects(cat, split)
        ids.extend(found[:max_objects] if max_objects else found)
    raw = raw_stage_grasps(ids, per_object=agnostic_per_object, seed=seed)
    raw.save(folder / "raw.npz", compact=True)
    rule, counts = rule_stage_grasps(ids)
    rule.save(folder / "rule.npz", compact=True)
    return {"objects": ids, "raw": len(raw), "rule": int((rule.extras["relaxed"] == 0).sum()),
            "relaxed": int(rule.extras["relaxed"].sum()), "per_object": counts}

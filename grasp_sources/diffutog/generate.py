"""Grasp sets from a DiffuTOG model over many objects, timed, with the raw samples kept beside.

``generate_sets`` samples every object once; the collision handling then runs on those very
samples, so "before" and "after" sets (Table III's "w. Emb_H" and "w. Emb_H + T" rows) differ only
by the handling. Timings are wall-clock of the batched calls, recorded in the provenance as
``seconds`` (what ``dextog metrics`` turns into ms/grasp) and split into sampling and handling.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import get_object


def generate_sets(object_ids: list[str], per_object: int, model: str | os.PathLike | None = None,
                  hand_encoder: bool = True, collision_handling: bool = True, seed: int = 0,
                  text: str | None = None, progress: bool = True) -> tuple[Grasps, Grasps | None, dict]:
    """(final grasps, raw samples before collision handling or None, timing summary)."""
    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

    sampler = DiffuTogSource(model=model, hand_encoder=hand_encoder, collision_handling=False)
    handler = DiffuTogSource(model=model, hand_encoder=hand_encoder) if collision_handling else None
    finals, raws = [], []
    t_sample = t_coll = 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(object_ids), desc="diffutog generate", unit="obj", dynamic_ncols=True)
    for k, oid in enumerate(object_ids):
        asset = get_object(oid)
        raw = sampler.sample(asset, asset.category, per_object, np.random.default_rng([seed, k]), text=text)
        t_sample += sampler.last_stats["ms_per_grasp_sample"] * per_object / 1000
        raws.append(raw)
        if handler is not None:
            finals.append(_handle(raw, asset))
            t_coll += finals[-1].provenance["collision_seconds"]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    n = per_object * len(object_ids)
    timing = {"grasps": n, "sample_seconds": round(t_sample, 2), "collision_seconds": round(t_coll, 2),
              "ms_per_grasp_sample": 1000 * t_sample / max(n, 1), "ms_per_grasp_collision": 1000 * t_coll / max(n, 1),
              "device": sampler.last_stats.get("device")}
    raw_set = _merge(raws, {"collision_handling": False, "seconds": t_sample, **timing})
    if handler is None:
        return raw_set, None, timing
    final = _merge(finals, {"collision_handling": True, "seconds": t_sample + t_coll, **timing})
    return final, raw_set, timing


def _handle(raw: Grasps, asset) -> Grasps:
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.objects.shape import object_shape

    t0 = time.perf_counter()
    res = resolve_collisions(object_shape(asset), raw.wrist_matrices()[:, :3, :3], raw.positions, raw.joints)
    seconds = time.perf_counter() - t0
    return raw.replace(positions=res.trans, joints=res.joints, extras={"pen_before_cm": 100 * res.pen_before_m, "pen_after_cm": 100 * res.pen_after_m}, provenance={**raw.provenance, "collision_handling": True, "collision_seconds": seconds})


def _merge(parts: list[Grasps], extra: dict) -> Grasps:
    merged = Grasps.concat(parts)
    first = parts[0].provenance
    prov = {"source": "diffutog", "version": 1, "seed": None, "model": first.get("model"),
            "model_sha256": first.get("model_sha256"), "model_steps": first.get("model_steps"),
            "hand_encoder": first.get("hand_encoder"), "texts": sorted({p.provenance.get("text") for p in parts}), **extra}
    return merged.replace(provenance=prov)


def save_per_object(grasps: Grasps, folder: str | os.PathLike) -> list[Path]:
    """One file per object (the layout of ``assets/grasps/<source>/``)."""
    out = []
    for oid in grasps.object_ids:
        path = Path(folder) / f"{oid}.npz"
        one = grasps.for_object(oid)
        one.replace(provenance=grasps.provenance).save(path, compact=True)
        out.append(path)
    return out

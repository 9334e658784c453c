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
                  text: str | None = None, progress: bool = True,
                  contact_keeping: bool = True) -> tuple[Grasps, Grasps | None, dict]:
    """(final grasps, raw samples before collision handling or None, timing summary).

    The timing summary also holds each object's own seconds (``per_object_seconds``: sampling and
    handling), which ``save_per_object`` writes into that object's file.
    """
    from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

    sampler = DiffuTogSource(model=model, hand_encoder=hand_encoder, collision_handling=False)
    handler = DiffuTogSource(model=model, hand_encoder=hand_encoder) if collision_handling else None
    finals, raws = [], []
    t_sample = t_coll = 0.0
    object_seconds: dict[str, list[float]] = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(object_ids), desc="diffutog generate", unit="obj", dynamic_ncols=True)
    for k, oid in enumerate(object_ids):
        asset = get_object(oid)
        raw = sampler.sample(asset, asset.category, per_object, np.random.default_rng([seed, k]), text=text)
        s_sample = sampler.last_stats["ms_per_grasp_sample"] * per_object / 1000
        t_sample += s_sample
        raws.append(raw)
        s_coll = 0.0
        if handler is not None:
            finals.append(_handle(raw, asset, contact_keeping))
            s_coll = finals[-1].provenance["collision_seconds"]
            t_coll += s_coll
        object_seconds[oid] = [round(s_sample, 3), round(s_coll, 3)]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    n = per_object * len(object_ids)
    timing = {"grasps": n, "sample_seconds": round(t_sample, 2), "collision_seconds": round(t_coll, 2),
              "ms_per_grasp_sample": 1000 * t_sample / max(n, 1), "ms_per_grasp_collision": 1000 * t_coll / max(n, 1),
              "device": sampler.last_stats.get("device"), "per_object_seconds": object_seconds}
    raw_set = _merge(raws, {"collision_handling": False, "seconds": t_sample, **timing})
    if handler is None:
        return raw_set, None, timing
    final = _merge(finals, {"collision_handling": True, "contact_keeping": contact_keeping,
                            "seconds": t_sample + t_coll, **timing})
    return final, raw_set, timing


def handle_set(raw: Grasps, contact_keeping: bool = True, progress: bool = True) -> Grasps:
    """The collision handling alone, on a saved set of samples (``--raw-out`` of ``generate_sets``).

    Table III's handling rows then differ from each other and from the raw row only by the
    handling; the sampling time recorded with the raw samples is carried into ``seconds``.
    """
    if raw.provenance.get("collision_handling"):
        raise ValueError("these grasps were already collision-handled; give the raw samples (--raw-out)")
    sample_times = raw.provenance.get("per_object_seconds", {})
    parts, object_seconds, t_coll = [], {}, 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(raw.object_ids), desc="diffutog handle", unit="obj", dynamic_ncols=True)
    for oid in raw.object_ids:
        handled = _handle(raw.for_object(oid), get_object(oid), contact_keeping)
        parts.append(handled)
        s = handled.provenance["collision_seconds"]
        t_coll += s
        object_seconds[oid] = [sample_times.get(oid, [0.0, 0.0])[0], round(s, 3)]
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    t_sample = float(raw.provenance.get("sample_seconds", 0.0))
    n = len(raw)
    prov = {**raw.provenance, "collision_handling": True, "contact_keeping": contact_keeping,
            "collision_seconds": round(t_coll, 2), "ms_per_grasp_collision": 1000 * t_coll / max(n, 1),
            "seconds": t_sample + t_coll, "per_object_seconds": object_seconds}
    return Grasps.concat(parts).replace(provenance=prov)


def _handle(raw: Grasps, asset, contact_keeping: bool = True) -> Grasps:
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.objects.shape import object_shape

    t0 = time.perf_counter()
    res = resolve_collisions(object_shape(asset), raw.wrist_matrices()[:, :3, :3], raw.positions, raw.joints,
                             contact_keeping=contact_keeping)
    seconds = time.perf_counter() - t0
    extras = {"pen_before_cm": 100 * res.pen_before_m, "pen_after_cm": 100 * res.pen_after_m,
              "pads_kept": res.pads_kept.astype(np.int8)}
    from dextog_gym.hand.transforms import matrices_to_quats_wxyz

    from dextog_gym.grasp_sources.diffutog.collision import DEFAULT

    return raw.replace(positions=res.trans, quats_wxyz=matrices_to_quats_wxyz(res.rot), joints=res.joints, extras=extras,
                       provenance={**raw.provenance, "collision_handling": True, "collision_seconds": seconds,
                                   "handling": DEFAULT.to_json()})


def _merge(parts: list[Grasps], extra: dict) -> Grasps:
    merged = Grasps.concat(parts)
    first = parts[0].provenance
    prov = {"source": "diffutog", "version": 1, "seed": None, "model": first.get("model"),
            "model_sha256": first.get("model_sha256"), "model_steps": first.get("model_steps"),
            "hand_encoder": first.get("hand_encoder"), "texts": sorted({p.provenance.get("text") for p in parts}), **extra}
    return merged.replace(provenance=prov)


def save_per_object(grasps: Grasps, folder: str | os.PathLike) -> list[Path]:
    """One file per object (the layout of ``assets/grasps/<source>/``).

    Each file's ``seconds`` and ``grasps`` are that object's own, so ms/grasp read from one file is
    true (the set-wide figures stay under ``set_seconds`` / ``set_grasps``).
    """
    out = []
    prov = grasps.provenance
    times = prov.get("per_object_seconds", {})
    shared = {k: v for k, v in prov.items() if k not in ("per_object_seconds", "seconds", "grasps", "sample_seconds",
                                                           "collision_seconds")}
    for oid in grasps.object_ids:
        path = Path(folder) / f"{oid}.npz"
        one = grasps.for_object(oid)
        own = {"set_seconds": prov.get("seconds"), "set_grasps": prov.get("grasps"), "grasps": len(one)}
        if oid in times:
            s_sample, s_coll = times[oid]
            own.update(sample_seconds=s_sample, collision_seconds=s_coll,
                       seconds=s_sample + (s_coll if prov.get("collision_handling") else 0.0))
        one.replace(provenance={**shared, **own}).save(path, compact=True)
        out.append(path)
    return out

"""The metrics table of a grasp set (``dextog metrics``): per object and overall.

Q1 is the paper's reading (zero when penetration ≥ 0.5 cm, mean over all grasps, zeros
included); η_f is the share of grasps with penetration below 0.5 cm; diversity is the mean
variance and range of joints normalised by their limits; ms/grasp is the generator's own time
as recorded in the file's provenance (``seconds`` / grasps), when present.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.grasps.file_source import load_grasps
from dextog_gym.metrics.diversity import joint_diversity


def _row(name: str, task: str, e: dict[str, np.ndarray], joints: np.ndarray, ms: float | None) -> dict:
    div = joint_diversity(joints)
    return {
        "object": name, "task": task, "grasps": len(joints),
        "Q1": f"{e['q1_valid'].mean():.3f}", "pen cm": f"{e['pen_cm'].mean():.2f}",
        "η_f": f"{(e['pen_cm'] < 0.5).mean():.2f}", "self-coll.": f"{e['self_collision'].mean():.2f}",
        "joint var": f"{div['mean_variance']:.3f}", "joint range": f"{div['mean_range']:.3f}",
        "ms/grasp": "-" if ms is None else f"{ms:.0f}",
    }


def _checked(path: str | Path, max_per_object: int) -> Grasps:
    if isinstance(max_per_object, bool) or not isinstance(max_per_object, int) or max_per_object < 1:
        raise ValueError(f"max_per_object must be a positive integer, got {max_per_object!r}")
    grasps = load_grasps(path)  # one .npz or a folder of per-object files
    if len(grasps) == 0:
        raise ValueError(f"{path}: the grasp set is empty")
    return grasps


def _per_object(grasps: Grasps, max_per_object: int, seed: int):
    """(object id, task, evaluate() figures, joints) per object, at most ``max_per_object`` grasps each."""
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    rng = np.random.default_rng(seed)
    for k, oid in enumerate(grasps.object_ids):
        idx = np.flatnonzero(grasps.object_index == k)
        if len(idx) == 0:
            continue
        if len(idx) > max_per_object:
            idx = np.sort(rng.choice(idx, max_per_object, replace=False))
        sub = grasps.select(idx)
        shape = object_shape(get_object(oid))
        yield oid, grasps.tasks[k], evaluate(shape, sub.wrist_matrices()[:, :3, :3], sub.positions, sub.joints), sub.joints


def grasp_set_metrics(path: str | Path, max_per_object: int = 200, seed: int = 0) -> list[dict]:
    grasps = _checked(path, max_per_object)
    rows, pooled, pooled_q = [], [], []
    seconds = grasps.provenance.get("seconds")
    ms = 1000 * float(seconds) / len(grasps) if isinstance(seconds, (int, float)) and len(grasps) else None
    for oid, task, e, joints in _per_object(grasps, max_per_object, seed):
        rows.append(_row(oid, task, e, joints, ms))
        pooled.append(e)
        pooled_q.append(joints)
    if len(rows) > 1:
        merged = {key: np.concatenate([e[key] for e in pooled]) for key in pooled[0]}
        rows.append(_row("all", "-", merged, np.concatenate(pooled_q), None))
    return rows


def pooled_figures(path: str | Path, max_per_object: int = 200, seed: int = 0,
                   split: str | None = None) -> dict[str, np.ndarray]:
    """Every evaluated grasp's figures (``evaluate`` keys), pooled over the set's objects: for intervals.
    ``split`` ("seen" / "unseen") counts only that split's objects, so one folder serves both columns."""
    grasps = _checked(path, max_per_object)
    keep = None
    if split is not None:
        from dextog_gym.objects.catalog import list_objects

        keep = set(list_objects(split=split))
    parts = [e for oid, _, e, _ in _per_object(grasps, max_per_object, seed) if keep is None or oid in keep]
    if not parts:
        raise ValueError(f"{path}: no grasps on {split} objects")
    return {key: np.concatenate([e[key] for e in parts]) for key in parts[0]}

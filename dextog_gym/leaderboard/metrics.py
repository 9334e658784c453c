"""The grasp metrics of a submission (Q1, penetration, η_f, self-collision, joint diversity) per task and split.

Measured on exactly the grasps the verifiers roll out (the first 20 distinct per object), kept per
grasp so a result can be re-scored and spot-checked, and cached in the work folder per (task, split),
keyed by the grasp file's bytes and the metric code, so a resumed evaluation measures nothing twice.
"""

from __future__ import annotations

import json
import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from dextog_gym.files import atomic_write_json, sha256_file, sha256_text
from dextog_gym.grasps import Grasps
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, SPLITS, TASKS
from dextog_gym.objects.catalog import list_objects


def protocol_indices(available: int, object_id: str) -> list[int]:
    """The grasps of an object the protocol evaluates: every row of the task file (its first 20 distinct)."""
    return list(range(min(available, GRASPS_PER_OBJECT)))


def measure_object(path: str, object_id: str) -> dict[str, Any]:
    """Per-grasp figures of one object's protocol grasps in the grasp file at ``path``."""
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    g = Grasps.load(path).for_object(object_id)
    idx = protocol_indices(len(g), object_id)
    sub = g.select(np.array(idx, dtype=int))
    e = evaluate(object_shape(get_object(object_id)), sub.wrist_matrices()[:, :3, :3], sub.positions, sub.joints)
    return {"object_id": object_id, "grasp_index": idx, "q1": [float(v) for v in e["q1_valid"]],
            "pen_cm": [float(v) for v in e["pen_cm"]], "self_collision": [bool(v) for v in e["self_collision"]]}


def _metric_code() -> str:
    from dextog_gym.metrics import grasp_quality, q1, self_collision

    return sha256_text("".join(sha256_file(Path(m.__file__)) for m in (grasp_quality, q1, self_collision)))


def summarise_metrics(per_object: list[dict[str, Any]], diversity: dict[str, float]) -> dict[str, Any]:
    """Means over every measured grasp of a (task, split): the paper's Q1 (0 when pen ≥ 0.5 cm), pen, η_f."""
    q1 = np.array([v for o in per_object for v in o["q1"]], float)
    pen = np.array([v for o in per_object for v in o["pen_cm"]], float)
    sc = np.array([v for o in per_object for v in o["self_collision"]], bool)
    if len(q1) == 0:
        return {"n": 0, "q1": None, "pen_cm": None, "eta_f": None, "self_collision": None, **diversity}
    return {"n": int(len(q1)), "q1": float(q1.mean()), "pen_cm": float(pen.mean()),
            "eta_f": float((pen < 0.5).mean()), "self_collision": float(sc.mean()), **diversity}


def _diversity(path: Path, objects: list[str]) -> dict[str, float]:
    """Mean over objects of the joint diversity of each object's protocol grasps."""
    from dextog_gym.metrics.diversity import joint_diversity

    grasps = Grasps.load(path)
    values = []
    for oid in objects:
        g = grasps.for_object(oid)
        values.append(joint_diversity(g.joints[protocol_indices(len(g), oid)]))
    if not values:
        return {"joint_variance": 0.0, "joint_range": 0.0}
    return {"joint_variance": float(np.mean([v["mean_variance"] for v in values])),
            "joint_range": float(np.mean([v["mean_range"] for v in values]))}


def measure_metrics(files: dict[str, Path | None], cache: Path, workers: int = 0,
                    progress: bool = True) -> dict[str, dict[str, Any]]:
    """``"<task>/<split>"`` -> {"objects": per-grasp figures per object, "summary": means and diversity}."""
    cache.mkdir(parents=True, exist_ok=True)
    code = _metric_code()
    todo: list[tuple[str, str, list[str], str]] = []
    out: dict[str, dict[str, Any]] = {}
    for task in TASKS:
        path = files.get(task)
        if path is None:
            continue
        have = set(Grasps.load(path).object_ids)
        key = sha256_text(json.dumps([sha256_file(path), code, GRASPS_PER_OBJECT]))
        for split in SPLITS:
            objects = [o for o in list_objects(task, split) if o in have]
            if not objects:
                continue
            name = f"{task}/{split}"
            try:
                doc = json.loads((cache / f"{task}__{split}.json").read_text())
                if doc.get("key") == key:
                    out[name] = doc["metrics"]
                    continue
            except (OSError, ValueError, KeyError, AttributeError):
                pass
            todo.append((name, str(path), objects, key))
    jobs = [(name, path, oid) for name, path, objects, _ in todo for oid in objects]
    measured = _run(jobs, workers, progress)
    for name, path, objects, key in todo:
        per_object = [measured[(name, oid)] for oid in objects]
        metrics = {"objects": per_object, "summary": summarise_metrics(per_object, _diversity(Path(path), objects))}
        task, split = name.split("/")
        atomic_write_json(cache / f"{task}__{split}.json", {"key": key, "metrics": metrics})
        out[name] = metrics
    return {k: out[k] for k in sorted(out)}


def _run(jobs: list[tuple[str, str, str]], workers: int, progress: bool) -> dict[tuple[str, str], dict[str, Any]]:
    bar = None
    if progress and jobs:
        from tqdm import tqdm

        bar = tqdm(total=len(jobs), unit="object", desc="metrics", dynamic_ncols=True)
    found: dict[tuple[str, str], dict[str, Any]] = {}
    workers = max(1, min(workers or (mp.cpu_count() or 1), len(jobs) or 1))
    try:
        if workers == 1:
            for name, path, oid in jobs:
                found[(name, oid)] = measure_object(path, oid)
                if bar is not None:
                    bar.update()
        else:
            with ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver")) as ex:
                futures = {ex.submit(measure_object, path, oid): (name, oid) for name, path, oid in jobs}
                for fut, where in futures.items():
                    found[where] = fut.result()
                    if bar is not None:
                        bar.update()
    finally:
        if bar is not None:
            bar.close()
    return found

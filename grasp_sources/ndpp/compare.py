"""Side-by-side runs of sampler settings on the same objects: NDPP's Tables 3 and 4 shapes.

Each setting samples ``per_object`` grasps of every object with the same per-object seeds, so rows
differ only by the setting; the figures are the metric's (``grasp_quality.evaluate``: Q1 zeroed at
pen ≥ 0.5 cm, penetration, η_f = share with pen < 0.5 cm, self-collision by pybullet) with 95 %
intervals, and the cost of each grasp: wall-clock ms and network / constraint evaluations.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from dextog_gym.grasps import Grasps

SETTINGS: dict[str, tuple[str, dict[str, Any]]] = {  # name -> (source, options)
    "diffutog": ("diffutog", {"collision_handling": False}),
    "diffutog+handling": ("diffutog", {}),
    "ndpp": ("ndpp", {}),
    "ndpp-resample": ("ndpp", {"variant": "resample"}),
    "ndpp-complete": ("ndpp", {"variant": "complete"}),
    "ndpp-no-contact": ("ndpp", {"contact_keeping": False}),
    "surrogate-gradient": ("ndpp", {"guidance": "surrogate_gradient"}),
    "finite-difference": ("ndpp", {"guidance": "finite_difference"}),
}


@dataclass
class SettingResult:
    name: str
    grasps: Grasps
    seconds: float
    network_calls: float  # per grasp
    cost_calls: float  # per grasp


def make_source(name: str, batch: int | None = None):
    if name not in SETTINGS:
        raise ValueError(f"unknown setting {name!r}; known: {', '.join(SETTINGS)}")
    kind, options = SETTINGS[name]
    if kind == "diffutog":
        from dextog_gym.grasp_sources.diffutog.source import DiffuTogSource

        return DiffuTogSource(**options, **({"batch": batch} if batch else {}))
    from dextog_gym.grasp_sources.ndpp.source import NdppSource

    return NdppSource(**options, **({"batch": batch} if batch else {}))


def warm_up(object_ids: list[str], setting: str) -> None:
    """Build every object's shape, grid SDF and metric points, load the model and text embeddings: once."""
    from dextog_gym.metrics.grasp_quality import metric_object_points
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    for oid in object_ids:
        shape = object_shape(get_object(oid))
        shape.grid()
        metric_object_points(shape)
    asset = get_object(object_ids[0])
    for name in ("diffutog", setting):
        make_source(name).sample(asset, asset.category, 1, np.random.default_rng(0))


def run_setting(name: str, object_ids: list[str], per_object: int, seed: int = 0, batch: int | None = None,
                progress: bool = False) -> SettingResult:
    from dextog_gym.objects.catalog import get_object

    source = make_source(name, batch)
    parts, seconds, net, evals = [], 0.0, 0.0, 0.0
    for k, oid in enumerate(object_ids):
        asset = get_object(oid)
        t0 = time.perf_counter()
        g = source.sample(asset, asset.category, per_object, np.random.default_rng([seed, k]))
        seconds += time.perf_counter() - t0
        stats = source.last_stats
        net += stats.get("network_calls_per_grasp", 100.0) * per_object  # DiffuTOG: T = 100 calls
        evals += stats.get("cost_calls_per_grasp", 0.0) * per_object
        parts.append(g)
        if progress:
            print(f"  {name}: {oid} {1000 * (time.perf_counter() - t0) / per_object:.0f} ms/grasp", flush=True)
    n = max(per_object * len(object_ids), 1)
    return SettingResult(name, Grasps.concat(parts), seconds, net / n, evals / n)


def figures(grasps: Grasps) -> dict[str, Any]:
    """Q1, penetration (± 95 % half-widths), η_f with its Wilson interval, self-collision share, n."""
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.metrics.intervals import mean_half_width, wilson_interval
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    parts = []
    for oid in grasps.object_ids:
        one = grasps.for_object(oid)
        parts.append(evaluate(object_shape(get_object(oid)), one.wrist_matrices()[:, :3, :3], one.positions, one.joints))
    e = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = len(e["pen_cm"])
    free = int((e["pen_cm"] < 0.5).sum())
    lo, hi = wilson_interval(free, n)
    return {"n": n, "q1": float(e["q1_valid"].mean()), "q1_ci": mean_half_width(e["q1_valid"]),
            "pen": float(e["pen_cm"].mean()), "pen_ci": mean_half_width(e["pen_cm"]), "eta": free / n,
            "eta_lo": lo, "eta_hi": hi, "self": float(e["self_collision"].mean()),
            "pads": float(e["pad_contacts"].mean())}


def format_rows(rows: list[tuple[SettingResult, dict]]) -> str:
    lines = ["| setting | Q1 ↑ | pen (cm) ↓ | η_f ↑ | self-coll. | pads | ms/grasp | network calls/grasp | "
             "constraint evals/grasp | n |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r, f in rows:
        ms = 1000 * r.seconds / max(f["n"], 1)
        lines.append(f"| {r.name} | {f['q1']:.3f} ± {f['q1_ci']:.3f} | {f['pen']:.2f} ± {f['pen_ci']:.2f} | "
                     f"{f['eta']:.0%} [{f['eta_lo']:.0%}–{f['eta_hi']:.0%}] | {f['self']:.0%} | {f['pads']:.2f} | "
                     f"{ms:.0f} | {r.network_calls:.0f} | {r.cost_calls:.0f} | {f['n']} |")
    return "\n".join(lines)

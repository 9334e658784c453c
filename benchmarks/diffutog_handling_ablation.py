"""DiffuTOG's test-time handling, one change at a time, on the same raw samples (seen and unseen).

Run: ``python benchmarks/diffutog_handling_ablation.py --seen RAW_SEEN.npz --unseen RAW_UNSEEN.npz``
where the raw sets come from ``dextog diffutog generate --no-collision-handling`` (same model, objects
and seed for every row, so rows differ only by the handling). Each row's figures are the metric's
(``dextog metrics``: Q1 zeroed at pen ≥ 0.5 cm, η_f = share with pen < 0.5 cm), pooled over every
grasp with 95 % intervals; ``depth`` is the raw samples' mean penetration, ``ms`` the handling's
wall-clock per grasp on this machine. ``--rows`` picks rows by number (default: all, in order); ``--try`` adds one.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np

# Each row changes one thing from the row before it (the first is the handling first shipped).
_EXACT = {"exact_sdf": True}
_TURN = {**_EXACT, "rot_lr": 0.002, "max_turn_rad": 0.175}
_SHIFT = {**_TURN, "max_shift_m": 0.02}
_WRAP = {**_SHIFT, "wrap_weight": 0.3, "wrap_margin_m": 0.006}
ROWS: list[tuple[str, dict]] = [
    ("first handling (grid φ_O)", {}),
    ("+ exact φ_O", _EXACT),
    ("+ wrist turns (≤ 10°)", _TURN),
    ("+ wrist shifts ≤ 2 cm", _SHIFT),
    ("+ link wrap (0.3, 6 mm): shipped", _WRAP),
    ("+ pad force closure 0.1 (dropped)", {**_WRAP, "closure_weight": 0.1}),
]


def _figures(grasps, config, contact_keeping: bool = True) -> dict:
    from dextog_gym.grasp_sources.diffutog.collision import resolve_collisions
    from dextog_gym.metrics.grasp_quality import evaluate
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    parts, seconds, depth = [], 0.0, []
    for oid in grasps.object_ids:
        g = grasps.for_object(oid)
        shape = object_shape(get_object(oid))
        rot = g.wrist_matrices()[:, :3, :3]
        if config is None:
            r, t, q = rot, g.positions, g.joints
        else:
            t0 = time.perf_counter()
            res = resolve_collisions(shape, rot, g.positions, g.joints, config=config, contact_keeping=contact_keeping)
            seconds += time.perf_counter() - t0
            r, t, q = res.rot, res.trans, res.joints
            depth.append(res.pen_before_m)
        parts.append(evaluate(shape, r, t, q, self_collision=False))
    e = {k: np.concatenate([p[k] for p in parts]) for k in ("q1_valid", "pen_cm", "pad_contacts")}
    n = len(e["pen_cm"])
    return {"n": n, "q1": e["q1_valid"], "pen": e["pen_cm"], "free": int((e["pen_cm"] < 0.5).sum()),
            "pads": float(e["pad_contacts"].mean()), "ms": 1000 * seconds / max(n, 1),
            "depth": 100 * float(np.concatenate(depth).mean()) if depth else float("nan")}


def _training_grasps(grasps, per_object: int):
    """The first ``per_object`` shipped rule grasps of the same objects: what the model learned from."""
    from dextog_gym.grasp_sources.shipped import grasp_path
    from dextog_gym.grasps import Grasps

    parts = []
    for oid in grasps.object_ids:
        rule = Grasps.load(grasp_path("rule", oid))
        parts.append(rule.select(np.arange(min(per_object, len(rule)))))
    return Grasps.concat(parts)


def _cells(f: dict | None) -> str:
    if f is None:
        return "– | – | –"
    from dextog_gym.metrics.intervals import mean_half_width, wilson_interval

    lo, hi = wilson_interval(f["free"], f["n"])
    return (f"{f['q1'].mean():.3f} ± {mean_half_width(f['q1']):.3f} | {f['pen'].mean():.2f} ± "
            f"{mean_half_width(f['pen']):.2f} | {f['free'] / f['n']:.0%} [{lo:.0%}–{hi:.0%}]")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seen", required=True, help="raw samples on seen objects (.npz)")
    parser.add_argument("--unseen", default=None, help="raw samples on unseen objects (.npz)")
    parser.add_argument("--rows", default="", help="comma-separated row numbers (default: all)")
    parser.add_argument("--try", dest="extra", action="append", default=[], metavar="NAME:KEY=VALUE,...",
                        help="an extra row: HandlingConfig fields changed from the first handling (repeatable)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--per-object", type=int, default=0, help="only the first N grasps of each object (0: all)")
    args = parser.parse_args()

    import torch

    from dextog_gym.grasp_sources.diffutog.collision import FIRST
    from dextog_gym.grasps import Grasps

    torch.set_num_threads(args.threads)
    sets = {"seen": Grasps.load(args.seen)}
    if args.unseen:
        sets["unseen"] = Grasps.load(args.unseen)
    if args.per_object:
        sets = {k: Grasps.concat([v.for_object(o).select(np.arange(min(args.per_object, len(v.for_object(o)))))
                                  for o in v.object_ids]) for k, v in sets.items()}
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {args.threads}; "
          f"n = {len(sets['seen'])} seen / {len(sets.get('unseen', ()))} unseen grasps")
    print("| handling | seen Q1 ↑ | seen pen (cm) ↓ | seen η_f ↑ | unseen Q1 ↑ | unseen pen (cm) ↓ | unseen η_f ↑ | "
          "pads (seen) | ms/grasp (seen) |")
    print("|---|---|---|---|---|---|---|---|---|")
    rule = {k: _figures(_training_grasps(v, args.per_object or 16), None) for k, v in sets.items()}
    print(f"| training grasps (rule sets, same objects) | {_cells(rule['seen'])} | {_cells(rule.get('unseen'))} | "
          f"{rule['seen']['pads']:.2f} | – |", flush=True)
    raw = {k: _figures(v, None) for k, v in sets.items()}
    print(f"| raw samples (no handling) | {_cells(raw['seen'])} | {_cells(raw.get('unseen'))} | {raw['seen']['pads']:.2f} | 0 |",
          flush=True)
    picked = {int(i) for i in args.rows.split(",") if i} if args.rows else set(range(len(ROWS)))
    extra = []
    for spec in args.extra:
        name, _, fields = spec.partition(":")
        change = {}
        for item in filter(None, fields.split(",")):
            key, _, value = item.partition("=")
            change[key] = value.lower() == "true" if value.lower() in ("true", "false") else float(value)
            if key == "steps":
                change[key] = int(change[key])
        extra.append((name, change))
    for i, (name, change) in enumerate(ROWS + extra):
        if i not in picked and i < len(ROWS):
            continue
        cfg = dataclasses.replace(FIRST, **change)
        f = {k: _figures(v, cfg) for k, v in sets.items()}
        print(f"| {i}. {name} | {_cells(f['seen'])} | {_cells(f.get('unseen'))} | {f['seen']['pads']:.2f} | "
              f"{f['seen']['ms']:.0f} |", flush=True)


if __name__ == "__main__":
    main()

"""The DexTOG paper's five rule filters (Eqs. 12–16, specs/algorithms.md §5.1), exactly.

Inputs are the fingertip pad centres p^f and outward pad normals n^f (hand/model.py, the one
definition) and the annotated part surfaces of the object (sampled points + average normal, in
the object frame at rest). d(x, S) is the distance from x to the nearest annotated point of S.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from dextog_gym.hand import model
from dextog_gym.objects.shape import ObjectShape

TH, FF, MF = (model.FINGERS.index(f) for f in ("th", "ff", "mf"))
PART_DISTANCE_M = 0.005  # staplers, press sprayers, triggers (Eqs. 12–14)
CAP_DISTANCE_M = 0.025  # every fingertip to the cap centre (Eq. 15)
PEN_DISTANCE_M = 0.0025  # pen button (Eq. 16)


def _dist(points: np.ndarray, surface: np.ndarray) -> np.ndarray:
    """d(x, S) for x [N,3] and S [P,3] sampled points -> [N]."""
    from scipy.spatial import cKDTree

    return cKDTree(surface).query(points)[0]


def _part(shape: ObjectShape, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    if name not in shape.parts:
        raise ValueError(f"{shape.object_id}: rule needs part {name!r}, annotation has {sorted(shape.parts)}")
    return shape.parts[name]


def stapler_rule(shape: ObjectShape, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    top, n_top = _part(shape, "S_top")
    bottom, n_bottom = _part(shape, "S_bottom")
    ok = np.zeros(len(pads), dtype=bool)
    for i in (FF, MF):
        for a, b in ((TH, i), (i, TH)):  # thumb on top and finger below, or swapped
            near = np.maximum(_dist(pads[:, a], top), _dist(pads[:, b], bottom)) <= PART_DISTANCE_M
            opposed = (normals[:, a] @ n_top < 0) & (normals[:, b] @ n_bottom < 0)
            ok |= near & opposed
    return ok


def sprayer_press_rule(shape: ObjectShape, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    button, _ = _part(shape, "S_button")
    return np.minimum(_dist(pads[:, TH], button), _dist(pads[:, FF], button)) <= PART_DISTANCE_M


def sprayer_trigger_rule(shape: ObjectShape, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    trigger, n_trigger = _part(shape, "S_trigger")
    return (_dist(pads[:, FF], trigger) <= PART_DISTANCE_M) & (normals[:, FF] @ n_trigger < 0)


def bottle_rule(shape: ObjectShape, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    cap, _ = _part(shape, "c_cap")
    centre = cap.mean(axis=0)
    return (np.linalg.norm(pads - centre, axis=2) <= CAP_DISTANCE_M).all(axis=1)


def pen_rule(shape: ObjectShape, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    button, _ = _part(shape, "S_button")
    return np.minimum(_dist(pads[:, TH], button), _dist(pads[:, FF], button)) <= PEN_DISTANCE_M


@dataclass(frozen=True)
class Rule:
    task: str
    equation: int
    check: Callable[[ObjectShape, np.ndarray, np.ndarray], np.ndarray]


RULES: dict[str, Rule] = {
    r.task: r
    for r in (
        Rule("stapler", 12, stapler_rule),
        Rule("sprayer_press", 13, sprayer_press_rule),
        Rule("sprayer_trigger", 14, sprayer_trigger_rule),
        Rule("bottle", 15, bottle_rule),
        Rule("pen", 16, pen_rule),
    )
}


def pads_in_object_frame(positions: np.ndarray, quats_wxyz: np.ndarray, joints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pad centres and outward normals [N,5,3] for grasps given as wrist poses in the object frame."""
    import torch

    from dextog_gym.hand.fk_torch import TorchHandFK

    with torch.no_grad():
        p, n = TorchHandFK().fingertip_pads(torch.as_tensor(positions), torch.as_tensor(quats_wxyz), torch.as_tensor(joints))
    return p.numpy(), n.numpy()


def rule_mask(shape: ObjectShape, task: str, positions: np.ndarray, quats_wxyz: np.ndarray,
              joints: np.ndarray) -> np.ndarray:
    """Which grasps the paper's rule for ``task`` keeps."""
    if task not in RULES:
        raise ValueError(f"no rule for task {task!r}; rules exist for {', '.join(RULES)}")
    if len(joints) == 0:
        return np.zeros(0, dtype=bool)
    pads, normals = pads_in_object_frame(positions, quats_wxyz, joints)
    return RULES[task].check(shape, pads, normals)


def rule_residual(shape: ObjectShape, task: str, pads: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """How far (m) each grasp is from passing the task's rule: 0-ish for kept grasps, larger is worse.

    The distance the rule thresholds, with 1 m added where a normal condition fails. Used to rank
    task-agnostic grasps for objects whose rule set is empty (``rule_relaxed``).
    """
    if task not in RULES:
        raise ValueError(f"no rule for task {task!r}; rules exist for {', '.join(RULES)}")
    if task == "stapler":
        top, n_top = _part(shape, "S_top")
        bottom, n_bottom = _part(shape, "S_bottom")
        best = np.full(len(pads), np.inf)
        for i in (FF, MF):
            for a, b in ((TH, i), (i, TH)):
                d = np.maximum(_dist(pads[:, a], top), _dist(pads[:, b], bottom))
                d = d + ((normals[:, a] @ n_top >= 0) | (normals[:, b] @ n_bottom >= 0))
                best = np.minimum(best, d)
        return best
    if task in ("sprayer_press", "pen"):
        button, _ = _part(shape, "S_button")
        return np.minimum(_dist(pads[:, TH], button), _dist(pads[:, FF], button))
    if task == "sprayer_trigger":
        trigger, n_trigger = _part(shape, "S_trigger")
        return _dist(pads[:, FF], trigger) + (normals[:, FF] @ n_trigger >= 0)
    cap, _ = _part(shape, "c_cap")
    return np.linalg.norm(pads - cap.mean(axis=0), axis=2).max(axis=1)

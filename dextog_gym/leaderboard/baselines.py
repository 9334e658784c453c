"""The baseline entries, written as ordinary submissions (so they go through exactly what a stranger's does).

``isf``, ``rule``, ``diffutog``, ``ndpp`` and the papers' baselines ``cvae``, ``grasptta``, ``unidexgrasp``
take each object's shipped set (at most the protocol's
``GRASPS_PER_OBJECT``, drawn as the protocol draws them). Two sanity entries must rank last, or the
benchmark is measuring something other than the grasps:

* ``random``: wrist poses near the object — a uniformly random orientation, the wrist 8–15 cm from the
  object's bounding-box centre in a random direction, joints uniform within their limits;
* ``shifted``: the ``rule`` grasps with the wrist moved 3 cm straight away from the object's centre;
* ``open_hand``: the ``isf`` wrist poses with the fingers open.

And one entry that shows why the files track says "selection not controlled": ``selection`` keeps, of
each object's ``rule`` grasps, those the residual verifier succeeds with under the practice secret's
episodes (``selection.py``), then the rest — a submitter with our verifiers can do the same.
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from dextog_gym.files import atomic_write_text
from dextog_gym.grasps import Grasps
from dextog_gym.hand.model import joint_limits
from dextog_gym.leaderboard.protocol import GRASPS_PER_OBJECT, TASKS
from dextog_gym.leaderboard.submission import META_FILE
from dextog_gym.objects.catalog import list_objects
from dextog_gym.paths import grasps_dir

SHIPPED = ("isf", "rule", "diffutog", "ndpp", "cvae", "grasptta", "unidexgrasp")
SANITY = ("random", "shifted", "open_hand")
# Entries with no collision handling or test-time step at all, measured at the sanity entries' level (GraspCVAE:
# 46 % of its raw samples collision-free, 0.4 % success): on the board as the reason GraspTTA adds its
# adaptation, so they may rank among the sanity entries; every other entry must rank above all of them.
UNHANDLED = ("cvae",)
SELECTED = ("selection",)
BASELINES = SHIPPED + SANITY + SELECTED
SHIFT_M = 0.03
RANDOM_DISTANCE_M = (0.08, 0.15)
SEED = 2024
LINK = "https://sites.google.com/view/dextog"
METHODS = {
    "isf": "isf: task-agnostic grasp sampler (DexTOG raw grasps)",
    "rule": "rule: isf grasps through the task rule filters",
    "diffutog": "DiffuTOG with collision handling (ours)",
    "ndpp": "NDPP-Grasp, amortized look-ahead (ours)",
    "cvae": "GraspCVAE, text-conditioned (papers' baseline, trained on DiffuTOG's data)",
    "grasptta": "GraspTTA*: GraspCVAE + contact-consistency test-time adaptation (papers' baseline)",
    "unidexgrasp": "UniDexGrasp*: IPDF rotation + flow + contact-based adaptation (papers' baseline)",
    "random": "sanity: random wrist poses near the object",
    "shifted": "sanity: rule grasps shifted 3 cm off the object",
    "open_hand": "sanity: isf wrist poses with the fingers open",
    "selection": "selection: rule grasps kept only where the verifier succeeded",
}


def _shipped(source: str, task: str, seed: int = 0, per_object: int = GRASPS_PER_OBJECT) -> Grasps:
    """Up to ``per_object`` grasps of each object's shipped set, drawn across the whole set (seeded), in file order."""
    parts = []
    for oid in list_objects(task, "all"):
        g = Grasps.load(grasps_dir() / source / f"{oid}.npz").for_object(oid)
        parts.append(g.select(np.array(spread_indices(len(g), oid, seed, per_object), dtype=int)).replace(extras={}))
    return Grasps.concat(parts)


def spread_indices(available: int, object_id: str, seed: int = 0, per_object: int = GRASPS_PER_OBJECT) -> list[int]:
    """``per_object`` rows drawn across a set of ``available`` (all when fewer), sorted."""
    n = min(available, per_object)
    rng = np.random.default_rng([seed, zlib.crc32(object_id.encode())])
    return sorted(int(i) for i in rng.choice(available, size=n, replace=False))


def _open_hand(task: str) -> Grasps:
    from dextog_gym.hand.model import OPEN_POSE

    isf = _shipped("isf", task)
    return isf.replace(joints=np.broadcast_to(OPEN_POSE, isf.joints.shape).copy(),
                       provenance={**isf.provenance, "source": "open_hand"})


def _centre(object_id: str) -> np.ndarray:
    from dextog_gym.objects.catalog import get_object
    from dextog_gym.objects.shape import object_shape

    pts = object_shape(get_object(object_id)).points
    return (pts.min(axis=0) + pts.max(axis=0)) / 2


def _shifted(task: str) -> Grasps:
    parts = []
    for g in (_shipped("rule", task).for_object(o) for o in list_objects(task, "all")):
        away = g.positions - _centre(g.object_ids[0])
        away /= np.linalg.norm(away, axis=1, keepdims=True)
        parts.append(g.replace(positions=g.positions + SHIFT_M * away))
    return Grasps.concat(parts)


def _random(task: str, rng: np.random.Generator) -> Grasps:
    lower, upper = (np.asarray(a, float) for a in joint_limits())
    parts = []
    for oid in list_objects(task, "all"):
        n = GRASPS_PER_OBJECT
        direction = rng.normal(size=(n, 3))
        direction /= np.linalg.norm(direction, axis=1, keepdims=True)
        pos = _centre(oid) + direction * rng.uniform(*RANDOM_DISTANCE_M, size=(n, 1))
        quat = rng.normal(size=(n, 4))
        quat /= np.linalg.norm(quat, axis=1, keepdims=True)
        joints = rng.uniform(lower, upper, size=(n, len(lower)))
        parts.append(Grasps.from_arrays(oid, task, pos, quat, joints, provenance={"source": "random", "seed": SEED}))
    return Grasps.concat(parts)


# Built-in sources that can enter the generator track (they generate for objects they have never seen).
GENERATORS = ("isf", "rule", "diffutog", "ndpp", "cvae", "grasptta", "unidexgrasp")
GENERATOR_METHODS = {
    "isf": "isf: task-agnostic grasp sampler (generated live)",
    "rule": "rule: isf grasps through the task rule filters (generated live)",
    "diffutog": "DiffuTOG with collision handling (ours)",
    "ndpp": "NDPP-Grasp, amortized look-ahead (ours)",
    "cvae": "GraspCVAE, text-conditioned (papers' baseline)",
    "grasptta": "GraspTTA*: GraspCVAE + contact-consistency test-time adaptation (papers' baseline)",
    "unidexgrasp": "UniDexGrasp*: IPDF rotation + flow + contact-based adaptation (papers' baseline)",
}


def builtin_meta(name: str) -> dict:
    """The submission metadata of a built-in generator (ms_per_grasp is measured by the evaluation)."""
    if name not in GENERATOR_METHODS:
        raise ValueError(f"{name!r} is not a built-in generator ({', '.join(GENERATOR_METHODS)}); give --meta")
    import dextog_gym

    return {"method": GENERATOR_METHODS[name], "authors": ["dextog_gym maintainers"], "link": LINK,
            "generator_version": f"dextog_gym {dextog_gym.__version__} built-in source {name}", "ms_per_grasp": 0,
            "notes": "Built-in generator run by `dextog leaderboard evaluate --generator`; ms/grasp measured."}


def build_baseline(name: str, out: Path) -> Path:
    """Write the submission folder of baseline ``name`` (one grasp file per task + metadata)."""
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; baselines: {', '.join(BASELINES)}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    for task in TASKS:
        if name in SHIPPED:
            grasps = _shipped(name, task)
        elif name == "shifted":
            grasps = _shifted(task)
        elif name == "open_hand":
            grasps = _open_hand(task)
        elif name == "selection":
            from dextog_gym.leaderboard.selection import selected_rule_grasps

            grasps = selected_rule_grasps(task)
        else:
            grasps = _random(task, rng)
        grasps.save(out / f"{task}.npz", compact=True)
    write_meta(name, out)
    return out


def write_meta(name: str, out: Path) -> None:
    """The baseline's ``submission.json`` (the files track does not measure ms/grasp: 0 = not reported)."""
    notes = ("Baseline entry built by `dextog leaderboard baseline`; ms_per_grasp is not measured in the files "
             "track (the generator track measures it).")
    if name == "selection":
        notes += (f" Per object: of up to {40} shipped rule grasps, those the residual verifier succeeded with "
                  "(episodes seeded apart from the evaluation's), then the others; the protocol takes the first 20.")
    meta = {"method": METHODS[name], "authors": ["dextog_gym maintainers"], "link": LINK,
            "generator_version": f"dextog_gym shipped set: {name}" if name in SHIPPED else f"baseline {name}, seed {SEED}",
            "ms_per_grasp": 0, "notes": notes}
    atomic_write_text(Path(out) / META_FILE, json.dumps(meta, indent=1) + "\n")

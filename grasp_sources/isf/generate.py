"""Raw task-agnostic grasps for one object: sample → cheap prefilter → exact filter → de-duplicate.

Deterministic by (seed, object id): each object gets its own generator seeded from both, so the
result does not depend on how objects are spread over processes. Stops when ``target`` distinct
grasps pass or ``max_candidates`` have been tried (reported, never silently short).
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from dextog_gym.grasps import Grasps
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.shape import object_shape
from dextog_gym.objects.spec import category

VERSION = "isf-3"  # 2: part-stratified seeds, any ray exit, no table for hand-held objects; 3: functional families
BATCH = 256
PREFILTER_PEN_M = 0.006
SELF_COLLISION_TOL_M = 0.003  # adjacent finger capsules of the MJCF graze by 1–3 mm when flexed differently
TABLE_TOL_CM = 0.2
# De-duplication thresholds (specs §2.2 D): palm position, approach direction, joints.
DEDUP_POS_M, DEDUP_ANGLE_RAD, DEDUP_JOINT_RAD = 0.01, np.deg2rad(10.0), 0.2
# Candidate families: antipodal fit, approach-and-close (0 valid of 768 on bottle_000: off), functional
# (a pad on a small part / five pads around a cap, ``functional.py``).
FAMILIES = ("antipodal", "approach", "functional")
FAMILY_PROBS = (0.5, 0.0, 0.5)
FUNCTIONAL = FAMILIES.index("functional")  # also the functional family's random stream (object_seed)


def only(family: str) -> tuple[float, ...]:
    """``family_probs`` drawing every batch from one family."""
    return tuple(float(f == family) for f in FAMILIES)


def object_seed(seed: int, object_id: str, stream: int = 0) -> np.random.Generator:
    """Stream 0 is the antipodal family's (the ``isf-2`` sets); each further family has its own stream,
    so adding one to a set never changes the grasps already in it."""
    key = [seed, zlib.crc32(object_id.encode())]
    return np.random.default_rng(key + [stream] if stream else key)


@dataclass
class GenerationStats:
    object_id: str
    candidates: int = 0
    prefiltered: int = 0
    valid: int = 0
    distinct: int = 0
    seconds: float = 0.0
    coverage: float = 0.0
    rejected: dict[str, int] = field(default_factory=dict)


def _distinct(palm: np.ndarray, approach: np.ndarray, q: np.ndarray, keep_palm, keep_app, keep_q) -> bool:
    if not keep_palm:
        return True
    near = np.linalg.norm(np.array(keep_palm) - palm, axis=1) < DEDUP_POS_M
    if not near.any():
        return True
    app = np.array(keep_app)[near] @ approach > np.cos(DEDUP_ANGLE_RAD)
    if not app.any():
        return True
    dq = np.abs(np.array(keep_q)[near][app] - q).max(axis=1)
    return bool((dq >= DEDUP_JOINT_RAD).all())


# The columns kept for each accepted grasp (``_as_grasps`` turns them into the set and its extras).
_KEPT = ("rot", "trans", "q", "q1", "pen", "pads", "palm", "app", "family", "clear")


@dataclass
class _Accepted:
    """The grasps kept so far, a list per column, and what a new one must differ from (kept and avoided)."""

    target: int
    kept: dict[str, list]
    seen: dict[str, list]  # palm centre, approach direction and joints of every grasp to stay distinct from

    def full(self) -> bool:
        return len(self.kept["q"]) >= self.target


def generate_raw(asset: ObjectAsset, target: int, seed: int, max_candidates: int = 20_000,
                 family_probs: tuple[float, ...] = FAMILY_PROBS, stream: int = 0,
                 avoid: Grasps | None = None) -> tuple[Grasps, GenerationStats]:
    """``avoid``: grasps already in the set; new ones must be distinct from them too (not returned)."""
    import torch

    from dextog_gym.grasp_sources.isf.antipodal import AntipodalSampler
    from dextog_gym.grasp_sources.isf.functional import FunctionalSampler
    from dextog_gym.grasp_sources.isf.sampler import CandidateSampler

    torch.set_num_threads(1)
    start = time.perf_counter()
    rng = object_seed(seed, asset.id, stream)
    torch.manual_seed(int(rng.integers(2**31)))
    shape = object_shape(asset)
    held = category(asset.category).hand_held
    closer = CandidateSampler(shape, table=not held)
    antipodal = AntipodalSampler(closer)
    functional = FunctionalSampler(antipodal)
    probs = _family_weights(family_probs, functional.available)
    samplers = (antipodal, closer, functional)
    stats = GenerationStats(asset.id)
    accepted = _Accepted(target, {k: [] for k in _KEPT}, _seen_from(closer.hand, avoid))
    while not accepted.full() and stats.candidates < max_candidates:
        family = int(rng.choice(len(FAMILIES), p=probs))
        cand = samplers[family].sample(BATCH, rng)
        stats.candidates += BATCH
        if len(cand.q):
            _screen_batch(cand, family, closer, shape, held, stats, accepted)
    stats.distinct = len(accepted.kept["q"])
    if stats.distinct:
        stats.coverage = _coverage(shape, accepted.kept)
    stats.seconds = time.perf_counter() - start
    return _as_grasps(asset, accepted.kept, stats, seed, stream, held), stats


def _family_weights(family_probs: tuple[float, ...], functional_available: bool) -> np.ndarray:
    """The families' draw probabilities, normalised; with no annotated part to seed from, the functional
    family's share goes to the antipodal fit."""
    probs = np.asarray(family_probs, dtype=float)
    if not functional_available:
        probs = np.array([probs[0] + probs[2], probs[1], 0.0])
    probs /= probs.sum()
    return probs


def _seen_from(hand, avoid: Grasps | None) -> dict[str, list]:
    """What a new grasp must differ from at the start: ``avoid``'s palm centres, approaches and joints."""
    import torch

    if avoid is None or not len(avoid):
        return {"palm": [], "app": [], "q": []}
    with torch.no_grad():
        wr = avoid.wrist_matrices()
        _, pf = hand.link_frames(torch.as_tensor(avoid.joints, dtype=hand.dtype),
                                 torch.as_tensor(wr[:, :3, :3], dtype=hand.dtype),
                                 torch.as_tensor(wr[:, :3, 3], dtype=hand.dtype))
        pc, pn = hand.palm(pf)
    return {"palm": list(pc.numpy().astype(float)), "app": list(pn.numpy().astype(float)), "q": list(avoid.joints)}


def _screen_batch(cand, family: int, closer, shape, held: bool, stats: GenerationStats, accepted: _Accepted) -> None:
    """One batch through the cheap prefilter, the exact filter and de-duplication, into ``accepted``."""
    pre, palm_c, palm_n = _prefilter(closer, cand)
    stats.prefiltered += int(pre.sum())
    if not pre.any():
        return
    sel = np.flatnonzero(pre)
    e, ok = _exact_filter(shape, cand, sel, held, stats)
    _keep_distinct(cand, family, sel, e, ok, palm_c, palm_n, stats, accepted)


def _prefilter(closer, cand):
    """(passes, palm centres, palm normals) for the whole batch from forward kinematics and the SDF alone:
    shallow penetration, above the table, at least three pads on the surface, the thumb's among them."""
    import torch

    from dextog_gym.metrics import grasp_quality

    hand = closer.hand
    with torch.no_grad():
        r = torch.as_tensor(cand.rot, dtype=hand.dtype)
        t = torch.as_tensor(cand.trans, dtype=hand.dtype)
        qq = torch.as_tensor(cand.q, dtype=hand.dtype)
        frames, palm_frame = hand.link_frames(qq, r, t)
        pts = hand.surface(frames)
        pen = closer.sdf(pts).amax(1).numpy()
        low = closer._height(pts).amin(1).numpy()
        pads, _ = hand.pads(qq, r, t)
        pad_ok = (closer.sdf(pads).abs() < grasp_quality.PAD_CONTACT_M).numpy()
        palm_c, palm_n = hand.palm(palm_frame)
    pre = (pen < PREFILTER_PEN_M) & (low > -TABLE_TOL_CM / 100) & (pad_ok.sum(1) >= 3) & pad_ok[:, 0]
    return pre, palm_c, palm_n


def _exact_filter(shape, cand, sel: np.ndarray, held: bool, stats: GenerationStats) -> tuple[dict, np.ndarray]:
    """(the grasp-quality evaluation of rows ``sel``, which of them pass); each reason's rejections counted."""
    from dextog_gym.metrics import grasp_quality

    e = grasp_quality.evaluate(shape, cand.rot[sel], cand.trans[sel], cand.q[sel], self_collision=False)
    reasons = {
        "penetration": e["pen_cm"] >= 0.5,
        "q1_zero": e["q1"] <= 0,
        "pads": (e["pad_contacts"] < 3) | ~e["thumb_contact"],
        "table": (e["table_cm"] > TABLE_TOL_CM) & (not held),
    }
    ok = ~np.any(np.stack(list(reasons.values())), axis=0)
    for name, bad in reasons.items():
        stats.rejected[name] = stats.rejected.get(name, 0) + int(bad.sum())
    return e, ok


def _keep_distinct(cand, family: int, sel: np.ndarray, e: dict, ok: np.ndarray, palm_c, palm_n,
                   stats: GenerationStats, accepted: _Accepted) -> None:
    """Keep the passing grasps free of self-collision and distinct from all seen, until the target is met."""
    from dextog_gym.metrics import grasp_quality
    from dextog_gym.metrics.self_collision import SelfCollisionChecker

    checker = grasp_quality._cache.setdefault("selfcheck3", SelfCollisionChecker(tolerance=SELF_COLLISION_TOL_M))
    seen, kept = accepted.seen, accepted.kept
    for j in np.flatnonzero(ok):
        i = sel[j]
        if checker.collides(cand.q[i]):
            stats.rejected["self_collision"] = stats.rejected.get("self_collision", 0) + 1
            continue
        stats.valid += 1
        palm, app = palm_c[i].numpy().astype(float), palm_n[i].numpy().astype(float)
        if not _distinct(palm, app, cand.q[i], seen["palm"], seen["app"], seen["q"]):
            continue
        for key, value in (("palm", palm), ("app", app), ("q", cand.q[i])):
            seen[key].append(value)
        for key, value in (("rot", cand.rot[i]), ("trans", cand.trans[i]), ("q", cand.q[i]), ("q1", e["q1"][j]),
                           ("pen", e["pen_cm"][j]), ("pads", e["pad_contacts"][j]), ("palm", palm), ("app", app),
                           ("family", family), ("clear", e["table_cm"][j] / 100)):
            kept[key].append(value)
        if accepted.full():
            break


def _coverage(shape, kept: dict[str, list]) -> float:
    """The share of the object's surface the kept grasps' contacts cover."""
    from dextog_gym.metrics import grasp_quality

    rot = np.array(kept["rot"]).reshape(len(kept["q"]), 3, 3)
    return grasp_quality.coverage(shape, grasp_quality.contact_points(shape, rot, np.array(kept["trans"]),
                                                                       np.array(kept["q"])))


def _as_grasps(asset: ObjectAsset, kept: dict[str, list], stats: GenerationStats, seed: int, stream: int,
               held: bool) -> Grasps:
    """The kept columns as a validated set, with per-grasp extras and the run's provenance."""
    from dextog_gym.hand.transforms import matrices_to_quats_wxyz

    n = len(kept["q"])
    rot = np.array(kept["rot"]).reshape(n, 3, 3)
    return Grasps.from_arrays(
        asset.id, asset.category,
        np.array(kept["trans"]).reshape(n, 3),
        matrices_to_quats_wxyz(rot) if n else np.zeros((0, 4)),
        np.array(kept["q"]).reshape(n, 24),
        extras={"q1": np.array(kept["q1"], dtype=float), "pen_cm": np.array(kept["pen"], dtype=float),
                "pad_contacts": np.array(kept["pads"], dtype=np.int32),
                "family": np.array(kept["family"], dtype=np.int32),
                "clearance_m": np.array(kept["clear"], dtype=float)},
        provenance={"source": "isf", "version": VERSION, "seed": seed, "stream": stream, "candidates": stats.candidates,
                    "valid": stats.valid, "seconds": round(stats.seconds, 2), "coverage": round(stats.coverage, 4),
                    "table": not held, "rejected": stats.rejected},
    )

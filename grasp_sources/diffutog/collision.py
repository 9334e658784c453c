"""Test-time collision handling (specs §3.5): push generated grasps out of the object.

A diffusion sample is close to a grasp but often sinks a finger a few millimetres into the
object, which physics turns into an explosion at reset. We minimise, per grasp,

    E = Σ_h [φ_O(h)]₊  +  Σ_o [φ_H(o)]₊  +  10 E_spen  +  E_pads  +  0.3 E_wrap  (+ joint limits, by clamping)

over the joints (Adam, lr 0.01) and the wrist pose (translation lr 1e-3 up to 2 cm, rotation
2e-3 rad up to 10°), where h are hand surface samples, o object surface samples, φ_O the metric's
own object distance (``NearestSDF``) and φ_H the hand's analytic capsule/box SDF (both positive
inside; the same φ the penetration metric uses). E_spen keeps fingers of different digits apart:
capsule key points (ends and centre) of two fingers closer than the sum of their radii. E_pads
holds pads that started near the surface on it; E_wrap holds every link that started near it
within 6 mm, so backing out does not cost the grasp its contacts. DexTOG optimises the joints
alone (500 SGD steps); moving the wrist too lets a grasp whose palm sits in the object back out
instead of curling the fingers away. A grasp stops once penetration, pad gaps and link gaps are
all under 1 mm. ``HandlingConfig`` holds every weight; ``FIRST`` is the first shipped handling.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from dextog_gym.hand.batch import HandBatch
from dextog_gym.metrics.constraints import (  # noqa: F401 (penetration re-exported)
    link_nearest,
    penetration,
    penetration_terms,
    self_penetration,
)

STEPS = 200  # the paper's 200 optimisation steps at inference
SPEN_WEIGHT = 10.0
HAND_SURFACE_POINTS = 512
# φ_H at object points is ~60% of a step's cost (fwd+bwd): each grasp works on the OBJECT_POINTS of the
# metric's 2,000 (metrics.grasp_quality.OBJECT_POINTS) deepest in or nearest to its hand, re-picked every
# REPICK_EVERY steps. A fixed sparse subset let object edges slip between its points: with contact
# keeping, the metric's penetration stayed at 0.6–1.1 cm while the handling believed 0.1 cm.
OBJECT_POINTS = 256
REPICK_EVERY = 10


@dataclass(frozen=True)
class HandlingConfig:
    """The handling's objective and optimiser; ``FIRST`` is the first shipped one, kept for the ablation.

    Contact keeping (specs §4.5's contact term applied to the handling): a pad that starts within
    ``keep_radius_m`` of the surface is pulled back whenever it is more than ``contact_margin_m``
    outside. Without it the push-out lifts fingers off (first handling without it: Q1 0.017 on seen
    objects). ``max_shift_m`` bounds the wrist's translation: Adam's steps are ~lr each whatever the
    gradient, so an unbounded translation drifted 5 cm through a thin stapler arm in a test.
    """

    steps: int = STEPS
    joint_lr: float = 0.01
    trans_lr: float = 1e-3
    # Wrist rotation: axis-angle about the wrist, R0·exp([ω]×) (matrix_exp: Rodrigues' formula has no
    # gradient at ω = 0, so the rotation would never leave it). rot_lr in radians per step; 0: fixed.
    rot_lr: float = 0.0
    max_shift_m: float = 0.01
    max_turn_rad: float = 0.0
    done_pen_m: float = 0.001  # a grasp stops once penetration and pad gap are both under this
    keep_radius_m: float = 0.02
    contact_margin_m: float = 0.002
    contact_weight: float = 1.0
    exact_sdf: bool = False  # the metric's φ_O (objects.shape.NearestSDF) instead of the 2 mm grid
    # Force closure of the kept pads (DexGraspNet's E_fc): ‖Σ n_i‖² + ‖λ_τ Σ x_i × n_i‖², n_i the outward
    # normal at pad i's nearest surface point, λ_τ = 10 m⁻¹ as in Q1. Zero when the pads' normal forces
    # balance, so it turns pads toward opposition, which Q1 measures. Needs ``exact_sdf`` (normals).
    closure_weight: float = 0.0
    # Wrap: each hand link whose nearest sample starts within ``keep_radius_m`` of the surface is pulled
    # back to within ``wrap_margin_m`` of it. Q1 counts one contact per link within 1 cm (metrics §1.1),
    # so links that stay near the surface while the fingers back out keep their wrenches.
    wrap_weight: float = 0.0
    wrap_margin_m: float = 0.003

    def to_json(self) -> dict:
        return asdict(self)


FIRST = HandlingConfig()
# The shipped handling: each change measured alone in benchmarks/diffutog_handling_ablation.py (2 seen
# objects per task × 8 raw samples, metric figures): first handling Q1 0.038 / pen 0.52 cm / η_f 70 %;
# exact φ_O + wrist turns + 2 cm shifts 0.036 / 0.27 / 81 %; + wrap (weight 0.3, 6 mm) 0.068 / 0.27 / 80 %.
# Tried and dropped: closure weight 0.01 / 0.1 (0.044 / 0.50, 0.041 / 0.39), wrap weight 1 (0.071 / 0.44 /
# 76 %), wrap margin 4 mm (0.062 / 0.46 / 72 %), wrap radius 3 cm (0.069 / 0.53 / 71 %), pad weight 3 (0.051 /
# 0.63 / 68 %).
DEFAULT = HandlingConfig(exact_sdf=True, rot_lr=0.002, max_turn_rad=0.175, max_shift_m=0.02, wrap_weight=0.3,
                         wrap_margin_m=0.006)

_hand_cache: dict[tuple[int, str], HandBatch] = {}


def _hand(n: int, device: str = "cpu") -> HandBatch:
    key = (n, str(torch.device(device)))
    if key not in _hand_cache:
        _hand_cache[key] = HandBatch(n_points=n, dtype=torch.float32, device=device)
    return _hand_cache[key]


@dataclass
class CollisionResult:
    rot: np.ndarray  # [B, 3, 3]
    trans: np.ndarray  # [B, 3]
    joints: np.ndarray  # [B, 24]
    pen_before_m: np.ndarray  # [B]
    pen_after_m: np.ndarray  # [B]
    steps_run: int
    pads_kept: np.ndarray  # [B] pads held on the surface (0 without contact keeping)
    gap_before_m: np.ndarray  # [B] largest distance of a kept pad beyond the contact margin
    gap_after_m: np.ndarray  # [B]


def resolve_collisions(shape, rot: np.ndarray, trans: np.ndarray, joints: np.ndarray, steps: int | None = None,
                       hand_points: int = HAND_SURFACE_POINTS, contact_keeping: bool = True,
                       device: str = "cpu", config: HandlingConfig = DEFAULT) -> CollisionResult:
    """Optimise joints and wrist pose of grasps on ``shape`` (ObjectShape) out of penetration.

    ``contact_keeping``: pads the sample brought near the surface are held on it (``contact_energy``),
    so pushing a finger out of the object does not also take it off the object. ``steps`` overrides
    ``config.steps``.
    """
    from dextog_gym.grasp_sources.isf.rotations import skew
    from dextog_gym.metrics.grasp_quality import metric_object_points

    cfg = config
    steps = cfg.steps if steps is None else steps
    hand = _hand(hand_points, device)
    sdf = shape.torch_sdf(dtype=torch.float32, device=device, exact=cfg.exact_sdf)
    as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)
    obj = as_t(metric_object_points(shape))[None]  # the points the penetration metric checks
    r0, t0 = as_t(rot), as_t(trans)
    q = as_t(joints).clone().requires_grad_(True)
    dt = torch.zeros_like(t0, requires_grad=True)
    dw = torch.zeros_like(t0, requires_grad=True)
    groups = [{"params": [q], "lr": cfg.joint_lr}, {"params": [dt], "lr": cfg.trans_lr}]
    if cfg.rot_lr > 0:
        groups.append({"params": [dw], "lr": cfg.rot_lr})
    opt = torch.optim.Adam(groups)
    pose = lambda rows: (r0[rows] @ torch.linalg.matrix_exp(skew(dw[rows])) if cfg.rot_lr > 0 else r0[rows], t0[rows] + dt[rows])
    everything = slice(None)
    with torch.no_grad():
        _, pen0, _, link_phi0 = _penetration(hand, sdf, obj, r0, t0, q)
        keep = kept_pads(hand, sdf, r0, t0, q, cfg) if contact_keeping else torch.zeros(len(q), 5, dtype=torch.bool, device=device)
        gap0 = contact_gap(hand, sdf, r0, t0, q, keep, cfg)
        wrap = link_phi0.abs() < cfg.keep_radius_m  # [B, links] links that start near the surface
    active = (pen0 >= cfg.done_pen_m) | (gap0 >= cfg.done_pen_m)
    ran = 0
    while ran < steps and bool(active.any()):
        if ran % REPICK_EVERY == 0:
            with torch.no_grad():
                near = nearest_object_points(hand, obj, *pose(everything), q.detach())
        idx = torch.nonzero(active).squeeze(1)  # only grasps not yet done cost anything
        opt.zero_grad(set_to_none=True)
        r, t = pose(idx)
        energy, pen, frames, link_phi = _penetration(hand, sdf, near[idx], r, t, q[idx])
        pull, gap = contact_energy(hand, sdf, r, t, q[idx], keep[idx], cfg)
        still = (pen.detach() >= cfg.done_pen_m) | (gap.detach() >= cfg.done_pen_m)
        energy = energy + SPEN_WEIGHT * self_penetration(hand, frames) + cfg.contact_weight * pull
        if cfg.wrap_weight > 0:
            loose = torch.relu(-link_phi - cfg.wrap_margin_m) * wrap[idx]
            energy = energy + cfg.wrap_weight * loose.sum(1)
            still = still | (loose.detach().amax(1) >= cfg.done_pen_m)
        active[idx[~still]] = False
        if cfg.closure_weight > 0:
            energy = energy + cfg.closure_weight * closure_energy(hand, sdf, r, t, q[idx], keep[idx])
        energy = energy * still
        energy.sum().backward()
        keep_q, keep_t, keep_w = q.detach().clone(), dt.detach().clone(), dw.detach().clone()
        opt.step()
        ran += 1
        with torch.no_grad():  # finished grasps stay put (Adam's momentum would still move them)
            q.copy_(torch.where(active[:, None], torch.maximum(torch.minimum(q, hand.upper), hand.lower), keep_q))
            dt.copy_(torch.where(active[:, None], _bounded(dt, cfg.max_shift_m), keep_t))
            dw.copy_(torch.where(active[:, None], _bounded(dw, cfg.max_turn_rad), keep_w))
    with torch.no_grad():
        r1, t1 = pose(everything)
        _, pen1, _ = penetration(hand, sdf, obj, r1, t1, q)
        gap1 = contact_gap(hand, sdf, r1, t1, q, keep, cfg)
    host = lambda v: v.detach().cpu().numpy().astype(float)
    return CollisionResult(host(r1), host(t1), host(q), host(pen0), host(pen1), ran, host(keep.sum(1)), host(gap0),
                           host(gap1))


def _penetration(hand: HandBatch, sdf, obj_pts, rot, trans, q):
    """``constraints.penetration`` plus each link's largest φ_O [B, links] (its sample nearest the surface)."""
    energy, pen, frames, phi_o = penetration_terms(hand, sdf, obj_pts, rot, trans, q)
    return energy, pen, frames, link_nearest(hand, phi_o)


def _bounded(v: torch.Tensor, limit: float) -> torch.Tensor:
    """Rows of v scaled back to norm ``limit`` where longer (0 where the limit is 0)."""
    if limit <= 0:
        return torch.zeros_like(v)
    return v * (limit / v.norm(dim=1, keepdim=True).clamp_min(limit))


@torch.no_grad()
def nearest_object_points(hand: HandBatch, obj: torch.Tensor, rot, trans, q, k: int = OBJECT_POINTS) -> torch.Tensor:
    """Per grasp, the k object points [B, k, 3] with the largest φ_H (deepest in or nearest to the hand)."""
    if obj.shape[1] <= k:
        return obj.expand(len(q), -1, -1)
    frames, _ = hand.link_frames(q, rot, trans)
    out = []
    for start in range(0, len(q), 64):  # [B, capsules, points, 3] intermediates: bounded memory
        sl = slice(start, start + 64)
        phi = hand.hand_sdf(frames[sl], obj.expand(len(q[sl]), -1, -1))
        pick = phi.topk(k, dim=1).indices
        out.append(obj[0][pick])
    return torch.cat(out)


def kept_pads(hand: HandBatch, sdf, rot, trans, q, cfg: HandlingConfig = DEFAULT) -> torch.Tensor:
    """[B, 5] pads within ``keep_radius_m`` of the surface (either side): the contacts the sample meant."""
    pads, _ = hand.pads(q, rot, trans)
    return sdf(pads).abs() < cfg.keep_radius_m


def contact_energy(hand: HandBatch, sdf, rot, trans, q, keep,
                   cfg: HandlingConfig = DEFAULT) -> tuple[torch.Tensor, torch.Tensor]:
    """(Σ over kept pads of [distance outside the surface − margin]₊ [B], its max [B]) in metres."""
    pads, _ = hand.pads(q, rot, trans)
    off = torch.relu(-sdf(pads) - cfg.contact_margin_m) * keep
    return off.sum(1), off.amax(1)


def closure_energy(hand: HandBatch, sdf, rot, trans, q, keep) -> torch.Tensor:
    """[B] ‖Σ_i n_i‖² + ‖10 Σ_i x_i × n_i‖² over kept pads (x_i pad centre, n_i nearest outward normal)."""
    pads, _ = hand.pads(q, rot, trans)
    normals = sdf.normals_at(pads) * keep[..., None]
    force = normals.sum(1)
    torque = 10.0 * torch.linalg.cross(pads, normals, dim=-1).sum(1)
    return (force**2).sum(1) + (torque**2).sum(1)


def contact_gap(hand: HandBatch, sdf, rot, trans, q, keep, cfg: HandlingConfig = DEFAULT) -> torch.Tensor:
    return contact_energy(hand, sdf, rot, trans, q, keep, cfg)[1]

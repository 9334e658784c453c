"""Test-time collision handling (specs §3.5): push generated grasps out of the object.

A diffusion sample is close to a grasp but often sinks a finger a few millimetres into the
object, which physics turns into an explosion at reset. We minimise, per grasp,

    E = Σ_h [φ_O(h)]₊  +  Σ_o [φ_H(o)]₊  +  10 E_spen  (+ joint limits, enforced by clamping)

over the joints (Adam, lr 0.01) and the wrist translation (lr 1e-3), where h are hand surface
samples, o object surface samples, φ_O the object's grid SDF and φ_H the hand's analytic
capsule/box SDF (both positive inside; the same φ the penetration metric uses). E_spen keeps
fingers of different digits apart: capsule key points (ends and centre) of two fingers closer
than the sum of their radii. DexTOG optimises the joints alone (500 SGD steps); moving the wrist
a little too lets a grasp whose palm sits in the object back out instead of curling the fingers
away. A grasp stops moving once its penetration is under 1 mm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dextog_gym.hand.batch import HandBatch, finger_of_link

STEPS = 200  # the paper's 200 optimisation steps at inference
JOINT_LR = 0.01
TRANS_LR = 1e-3
DONE_PEN_M = 0.001
# The wrist may back out at most this far: Adam's steps are ~lr each whatever the gradient, so an
# unbounded translation drifted 5 cm through a thin stapler arm in a test (metric pen 7.6 cm).
MAX_SHIFT_M = 0.01
SPEN_WEIGHT = 10.0
HAND_SURFACE_POINTS = 512
OBJECT_POINTS = 256  # φ_H at object points is ~60% of a step's cost (fwd+bwd); 256 keep it under half

_hand_cache: dict[int, HandBatch] = {}


def _hand(n: int) -> HandBatch:
    if n not in _hand_cache:
        _hand_cache[n] = HandBatch(n_points=n, dtype=torch.float32)
    return _hand_cache[n]


def _finger_keypoints(hand: HandBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Capsules on fingers: (capsule index [K], local key points [K, 3, 3], radius [K], pair mask [K, K])."""
    fingers = [finger_of_link(hand.link_names[int(li)]) for li in hand.capsule_link]
    keep = [i for i, f in enumerate(fingers) if f is not None]
    idx = torch.as_tensor(keep)
    half = hand.capsule_half[idx]
    z = torch.stack([-half, torch.zeros_like(half), half], dim=1)  # [K, 3]
    local = torch.zeros(len(keep), 3, 3, dtype=hand.dtype)
    local[:, :, 2] = z
    names = [fingers[i] for i in keep]
    pair = torch.tensor([[a != b for b in names] for a in names])
    return idx, local, hand.capsule_radius[idx], pair


def self_penetration(hand: HandBatch, frames: torch.Tensor) -> torch.Tensor:
    """E_spen [B]: Σ over finger pairs of [r_a + r_b − ‖k_a − k_b‖]₊ on capsule key points."""
    idx, local, radius, pair = _finger_keypoints(hand)
    cap = frames[:, hand.capsule_link[idx]] @ hand.capsule_origin[idx]  # [B, K, 4, 4]
    pts = (cap[:, :, None, :3, :3] @ local[None, :, :, :, None]).squeeze(-1) + cap[:, :, None, :3, 3]  # [B,K,3,3]
    flat = pts.reshape(pts.shape[0], -1, 3)
    d = torch.cdist(flat, flat)  # [B, 3K, 3K]
    rr = (radius[:, None] + radius[None, :]).repeat_interleave(3, 0).repeat_interleave(3, 1)
    mask = pair.repeat_interleave(3, 0).repeat_interleave(3, 1)
    return (torch.relu(rr - d) * mask).sum((1, 2)) / 2


@dataclass
class CollisionResult:
    rot: np.ndarray  # [B, 3, 3]
    trans: np.ndarray  # [B, 3]
    joints: np.ndarray  # [B, 24]
    pen_before_m: np.ndarray  # [B]
    pen_after_m: np.ndarray  # [B]
    steps_run: int


def penetration(hand: HandBatch, sdf, obj_pts: torch.Tensor, rot, trans, q) -> tuple[torch.Tensor, torch.Tensor]:
    """(energy terms Σ[φ_O(h)]₊ + Σ[φ_H(o)]₊ [B], max penetration [B] in metres)."""
    frames, _ = hand.link_frames(q, rot, trans)
    phi_o = sdf(hand.surface(frames))  # [B, S]
    phi_h = hand.hand_sdf(frames, obj_pts.expand(q.shape[0], -1, -1))  # [B, O]
    energy = torch.relu(phi_o).sum(1) + torch.relu(phi_h).sum(1)
    pen = torch.maximum(phi_o.amax(1), phi_h.amax(1)).clamp_min(0)
    return energy, pen, frames


def resolve_collisions(shape, rot: np.ndarray, trans: np.ndarray, joints: np.ndarray, steps: int = STEPS,
                       hand_points: int = HAND_SURFACE_POINTS) -> CollisionResult:
    """Optimise joints and wrist translation of grasps on ``shape`` (ObjectShape) out of penetration."""
    from dextog_gym.metrics.grasp_quality import object_points

    hand = _hand(hand_points)
    sdf = shape.torch_sdf(dtype=torch.float32)
    obj = torch.as_tensor(object_points(shape, OBJECT_POINTS), dtype=torch.float32)[None]
    r = torch.as_tensor(rot, dtype=torch.float32)
    t0 = torch.as_tensor(trans, dtype=torch.float32)
    q = torch.as_tensor(joints, dtype=torch.float32).clone().requires_grad_(True)
    dt = torch.zeros_like(t0, requires_grad=True)
    opt = torch.optim.Adam([{"params": [q], "lr": JOINT_LR}, {"params": [dt], "lr": TRANS_LR}])
    active = torch.ones(len(q), dtype=torch.bool)
    with torch.no_grad():
        _, pen0, _ = penetration(hand, sdf, obj, r, t0, q)
    active &= pen0 >= DONE_PEN_M
    ran = 0
    while ran < steps and bool(active.any()):
        idx = torch.nonzero(active).squeeze(1)  # only grasps still penetrating cost anything
        opt.zero_grad(set_to_none=True)
        energy, pen, frames = penetration(hand, sdf, obj, r[idx], t0[idx] + dt[idx], q[idx])
        still = pen.detach() >= DONE_PEN_M
        active[idx[~still]] = False
        energy = (energy + SPEN_WEIGHT * self_penetration(hand, frames)) * still
        energy.sum().backward()
        keep_q, keep_t = q.detach().clone(), dt.detach().clone()
        opt.step()
        ran += 1
        with torch.no_grad():  # finished grasps stay put (Adam's momentum would still move them)
            q.copy_(torch.where(active[:, None], torch.maximum(torch.minimum(q, hand.upper), hand.lower), keep_q))
            shifted = dt * (MAX_SHIFT_M / dt.norm(dim=1, keepdim=True).clamp_min(MAX_SHIFT_M))
            dt.copy_(torch.where(active[:, None], shifted, keep_t))
    with torch.no_grad():
        _, pen1, _ = penetration(hand, sdf, obj, r, t0 + dt, q)
    return CollisionResult(rot, (t0 + dt).detach().numpy().astype(float), q.detach().numpy().astype(float),
                           pen0.numpy().astype(float), pen1.numpy().astype(float), ran)

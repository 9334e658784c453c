"""Physical-plausibility constraints of hand poses, batched, in torch: the one home of their formulas.

Three users share these functions so that what one optimises is what another reports:
the collision handling (DiffuTOG's push-out, by gradient), NDPP-Grasp's guided denoising (forward
calls only, thousands of candidate poses per step) and the tests that hold both against the metric
(``grasp_quality.evaluate``). The quantities are those of the metric:

* hand–object penetration: φ_O (object SDF, positive inside) at hand surface samples and φ_H (the
  hand's capsule/box SDF, ``HandBatch.hand_sdf``, the torch twin of ``metrics.hand_sdf``) at the
  metric's own object points (``metric_object_points``, farthest-point ordered, so its first N
  are a spread subset);
* self-collision: penetration between capsules of different fingers, on capsule key points (ends
  and centre). The reported metric asks pybullet (``self_collision.py``); at 0.56 ms per pose
  it is too slow for a guidance loop that scores ~1,000 poses per grasp, and the tests measure how
  well this key-point form agrees with it;
* joint-limit violation in radians, before any clipping (after clipping it is zero by construction).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dextog_gym.hand.batch import HandBatch, finger_of_link

# Guidance cost (specs §4.5, units: cm): c = 10·pen + Σ_h[φ_O(h)]₊ + P_sc + 10·J (+ contact keeping).
PEN_WEIGHT = 10.0
JOINT_WEIGHT = 10.0
# Contact keeping: w·Σ_f [d(pad, S) − 1 cm]₊ (cm). Penalising penetration alone rewards a hand that
# floats off the object, which scores perfectly on penetration and grasps nothing. Specs §4.5 suggests
# w = 0.5; measured with NDPP's defaults on 2 seen objects per task × 4 grasps (metric figures, n = 40):
# w = 0 pen 0.21 cm, η_f 85 %, 0.53 pads in contact; w = 0.1: 0.22 cm, 85 %, 0.93 pads; w = 0.2: 0.55 cm,
# 70 %; w = 0.5: 0.77 cm, 65 %, 1.23 pads — stronger pulls drag fingers into the object.
CONTACT_WEIGHT = 0.1
CONTACT_SLACK_M = 0.01


def _finger_keypoints(hand: HandBatch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Capsules on fingers: (capsule index [K], local key points [K, 3, 3], radius [K], pair mask [K, K])."""
    fingers = [finger_of_link(hand.link_names[int(li)]) for li in hand.capsule_link]
    keep = [i for i, f in enumerate(fingers) if f is not None]
    idx = torch.as_tensor(keep, device=hand.device)
    half = hand.capsule_half[idx]
    z = torch.stack([-half, torch.zeros_like(half), half], dim=1)  # [K, 3]
    local = torch.zeros(len(keep), 3, 3, dtype=hand.dtype, device=hand.device)
    local[:, :, 2] = z
    names = [fingers[i] for i in keep]
    pair = torch.tensor([[a != b for b in names] for a in names], device=hand.device)
    return idx, local, hand.capsule_radius[idx], pair


def self_penetration(hand: HandBatch, frames: torch.Tensor) -> torch.Tensor:
    """E_spen [B] in metres: Σ over finger pairs of [r_a + r_b − ‖k_a − k_b‖]₊ on capsule key points."""
    idx, local, radius, pair = _finger_keypoints(hand)
    cap = frames[:, hand.capsule_link[idx]] @ hand.capsule_origin[idx]  # [B, K, 4, 4]
    pts = (cap[:, :, None, :3, :3] @ local[None, :, :, :, None]).squeeze(-1) + cap[:, :, None, :3, 3]  # [B,K,3,3]
    flat = pts.reshape(pts.shape[0], -1, 3)
    d = torch.cdist(flat, flat)  # [B, 3K, 3K]
    rr = (radius[:, None] + radius[None, :]).repeat_interleave(3, 0).repeat_interleave(3, 1)
    mask = pair.repeat_interleave(3, 0).repeat_interleave(3, 1)
    return (torch.relu(rr - d) * mask).sum((1, 2)) / 2


def penetration(hand: HandBatch, sdf, obj_pts: torch.Tensor, rot, trans, q) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(Σ[φ_O(h)]₊ + Σ[φ_H(o)]₊ [B], max penetration [B], link frames), lengths in metres.

    ``obj_pts``: object surface points [1 or B, O, 3] (shared, or each pose's own)."""
    return penetration_terms(hand, sdf, obj_pts, rot, trans, q)[:3]


def penetration_terms(hand: HandBatch, sdf, obj_pts: torch.Tensor, rot, trans, q):
    """``penetration`` plus φ_O at every hand surface sample [B, S] (for per-link terms)."""
    frames, _ = hand.link_frames(q, rot, trans)
    phi_o = sdf(hand.surface(frames))  # [B, S]
    phi_h = hand.hand_sdf(frames, obj_pts.expand(q.shape[0], -1, -1))  # [B, O]
    energy = torch.relu(phi_o).sum(1) + torch.relu(phi_h).sum(1)
    pen = torch.maximum(phi_o.amax(1), phi_h.amax(1)).clamp_min(0)
    return energy, pen, frames, phi_o


def link_nearest(hand: HandBatch, phi_o: torch.Tensor) -> torch.Tensor:
    """[B, links] each link's largest φ_O over its samples (its sample nearest the surface; −1 m if none)."""
    links = hand.link_index.to(phi_o.device).expand(len(phi_o), -1)
    out = torch.full((len(phi_o), len(hand.link_names)), -1.0, dtype=phi_o.dtype, device=phi_o.device)
    return out.scatter_reduce(1, links, phi_o, reduce="amax", include_self=False)


def joint_violation(hand: HandBatch, q: torch.Tensor) -> torch.Tensor:
    """J [B] in radians: Σ [q − q_max]₊ + [q_min − q]₊ (zero for clipped joints)."""
    return (torch.relu(q - hand.upper) + torch.relu(hand.lower - q)).sum(1)


def pad_gap(hand: HandBatch, sdf, rot, trans, q) -> torch.Tensor:
    """[B, 5] distance of each fingertip pad outside the object surface (0 when on or inside), metres."""
    pads, _ = hand.pads(q, rot, trans)
    return torch.relu(-sdf(pads))


@dataclass
class ConstraintEvaluator:
    """Forward-only scoring of many poses of one hand on one object (specs §4.5 cost, in cm).

    ``object_points``: how many of the metric's object points φ_H is checked at (the first N of its
    farthest-point order: 512 of 2,000 keep the worst penetration within ~1 mm, measured in
    tests/test_ndpp_constraints.py, at a quarter of the cost). ``contact_keeping`` adds the pad term.
    """

    shape: object  # ObjectShape
    device: str = "cpu"
    hand_points: int = 256
    object_points: int = 512
    contact_keeping: bool = True
    exact_sdf: bool = False  # the metric's φ_O (objects.shape.NearestSDF) instead of the 2 mm grid
    # Links in touch: −w · (links whose nearest sample is within 1 cm of the surface, the metric's
    # contact test). A count, not differentiable: the guided sampler needs forward values only.
    link_contact_weight: float = 0.0
    # Extra cost per cm of penetration beyond ``pen_limit_cm`` (the metric's 0.5 cm verdict, with room).
    over_limit_weight: float = 0.0
    pen_limit_cm: float = 0.4

    def __post_init__(self) -> None:
        from dextog_gym.metrics.grasp_quality import metric_object_points

        self.hand = HandBatch(n_points=self.hand_points, dtype=torch.float32, device=self.device)
        self.sdf = self.shape.torch_sdf(dtype=torch.float32, device=self.device, exact=self.exact_sdf)
        pts = np.asarray(metric_object_points(self.shape))[: self.object_points]
        self.obj = torch.as_tensor(pts, dtype=torch.float32, device=self.device)[None]
        self.evaluations = 0  # poses scored so far (Table 4's "constraint evaluations")

    def terms(self, rot: torch.Tensor, trans: torch.Tensor, q_raw: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per pose: pen_cm, sum_cm (Σ hand points inside), self_cm, joints_rad, gap_cm (pads beyond slack).

        Differentiable almost everywhere (the gradient-guidance ablation uses that); the guided sampler
        calls it under ``torch.no_grad``."""
        self.evaluations += len(q_raw)
        joints = joint_violation(self.hand, q_raw)
        q = torch.maximum(torch.minimum(q_raw, self.hand.upper), self.hand.lower)
        frames, _ = self.hand.link_frames(q, rot, trans)
        phi_o = self.sdf(self.hand.surface(frames))
        phi_h = self.hand.hand_sdf(frames, self.obj.expand(len(q), -1, -1))
        pen = torch.maximum(phi_o.amax(1), phi_h.amax(1)).clamp_min(0)
        gap = torch.relu(pad_gap(self.hand, self.sdf, rot, trans, q) - CONTACT_SLACK_M).sum(1)
        out = {"pen_cm": 100 * pen, "sum_cm": 100 * torch.relu(phi_o).sum(1),
               "self_cm": 100 * self_penetration(self.hand, frames), "joints_rad": joints, "gap_cm": 100 * gap}
        if self.link_contact_weight:
            out["links_in_touch"] = (link_nearest(self.hand, phi_o) > -CONTACT_SLACK_M).sum(1).to(phi_o.dtype)
        return out

    def cost(self, rot: torch.Tensor, trans: torch.Tensor, q_raw: torch.Tensor) -> torch.Tensor:
        """c [B] = 10·pen + Σ_h[φ_O]₊ + P_sc + 10·J (+ 0.5·pad gap), all lengths in cm."""
        t = self.terms(rot, trans, q_raw)
        c = PEN_WEIGHT * t["pen_cm"] + t["sum_cm"] + t["self_cm"] + JOINT_WEIGHT * t["joints_rad"]
        if self.link_contact_weight:
            c = c - self.link_contact_weight * t["links_in_touch"]
        if self.over_limit_weight:
            c = c + self.over_limit_weight * torch.relu(t["pen_cm"] - self.pen_limit_cm)
        return c + CONTACT_WEIGHT * t["gap_cm"] if self.contact_keeping else c

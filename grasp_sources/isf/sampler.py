"""Task-agnostic grasp candidates: approach → close → ISF-style fit (specs/algorithms.md §2.2).

A. Approach: a surface point p with outward normal n, an approach axis inside a 30° cone around
   −n, a random roll, a jittered pre-shape, and an *anchor* that is brought to p: the palm centre
   (power grasps) or the thumb or index pad (pinches of small parts such as buttons). The hand is
   backed off along n by bisection until its closest sample clears the object by 2 mm.
B. Close: every finger curls along its own path until one of its samples comes within 1 mm.
C. Fit: a few Adam steps on the joints and a small wrist correction pull the engaged pads onto
   the surface, opposed to it, while penalising penetration and the table (the ISF idea of
   fitting the finger surfaces to the object surface, with gradients from the SDF grid).
The exact checks (penetration, Q1, contacts, self-collision) come after, in ``filter.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from dextog_gym.grasp_sources.isf.rotations import (
    align,
    axis_angle,
    random_cone,
    rotvec,
    unit,
)
from dextog_gym.hand import model
from dextog_gym.hand.batch import JOINT, HandBatch
from dextog_gym.hand.grip import CLOSED_JOINTS
from dextog_gym.objects.shape import ObjectShape

APPROACH_CONE_RAD = np.deg2rad(30.0)
CLEARANCE_M = 0.002
MAX_STANDOFF_M = 0.10
BISECTION_STEPS = 12
CLOSE_STEPS = 40
CONTACT_M = 0.001
FIT_STEPS = 15
ENGAGED_PAD_M = 0.02  # pads this close to the surface after closing are fitted onto it
TABLE_CLEARANCE_M = 0.002

# Pre-shape (a relaxed, slightly curled hand with the thumb half opposed) and closed targets.
# The power pre-shape keeps the thumb flat beside the palm (THJ4 small): a thumb sticking out in
# front of the palm meets the object first and holds the palm centimetres away from it.
_PRESHAPE = {"FFJ2": 0.1, "FFJ1": 0.1, "FFJ0": 0.1, "MFJ2": 0.1, "MFJ1": 0.1, "MFJ0": 0.1,
             "RFJ2": 0.1, "RFJ1": 0.1, "RFJ0": 0.1, "LFJ2": 0.1, "LFJ1": 0.1, "LFJ0": 0.1,
             "THJ4": 0.2, "THJ1": 0.1}
# Two closing synergies, picked at random per candidate. Power: fingers curl fully, the thumb
# wraps toward the index/middle pads. Pinch: index and middle bend at the knuckle with straight-ish
# tips and meet the opposed thumb pad (pose found by optimising pad distance and normal
# opposition with torch FK), ring and little fingers curl away.
_PINCH_PRESHAPE = {"FFJ2": 0.3, "MFJ2": 0.3, "RFJ2": 0.3, "LFJ2": 0.3, "THJ4": 0.7, "THJ3": 0.2, "THJ1": 0.2}
_PINCH_CLOSED = {"FFJ3": -0.25, "FFJ2": 1.57, "FFJ1": 0.3, "FFJ0": 0.2, "MFJ3": -0.05, "MFJ2": 1.57, "MFJ1": 0.3,
                 "MFJ0": 0.2, "RFJ2": 1.45, "RFJ1": 1.45, "RFJ0": 1.2, "LFJ2": 1.45, "LFJ1": 1.45, "LFJ0": 1.2,
                 "THJ4": 0.7, "THJ3": 1.22, "THJ2": -0.05, "THJ1": 0.52, "THJ0": 0.0}
SYNERGY_PROBS = (0.5, 0.5)  # power, pinch
_CLOSED = CLOSED_JOINTS  # one definition, shared with the squeeze that holds grasps
PRESHAPE_SIGMA = 0.1  # × joint range, truncated to the limits (DexGraspNet's jitter)


def _pose_vector(values: dict[str, float], base: np.ndarray) -> np.ndarray:
    out = base.copy()
    for name, v in values.items():
        out[JOINT[name]] = v
    return out


PRESHAPE = _pose_vector(_PRESHAPE, np.zeros(model.NUM_JOINTS))
CLOSED = _pose_vector(_CLOSED, PRESHAPE)
PINCH_PRESHAPE = _pose_vector(_PINCH_PRESHAPE, np.zeros(model.NUM_JOINTS))
PINCH_CLOSED = _pose_vector(_PINCH_CLOSED, PINCH_PRESHAPE)
SYNERGIES = ((PRESHAPE, CLOSED), (PINCH_PRESHAPE, PINCH_CLOSED))


@dataclass
class Candidates:
    """Grasp candidates in the object frame (numpy)."""

    rot: np.ndarray  # [B,3,3] wrist orientation
    trans: np.ndarray  # [B,3] wrist position
    q: np.ndarray  # [B,24]
    synergy: np.ndarray  # [B] 0 power (palm centre to the surface), 1 pinch (thumb–index midpoint)
    surface_index: np.ndarray  # [B] the approached surface sample


class CandidateSampler:
    def __init__(self, shape: ObjectShape, hand: HandBatch | None = None, table: bool = True):
        self.shape = shape
        self.hand = hand or HandBatch()
        self.sdf = shape.torch_sdf(dtype=self.hand.dtype)
        self.table = table
        w = shape.world_from_object
        self.up = torch.as_tensor(w[2, :3], dtype=self.hand.dtype)
        self.up0 = float(w[2, 3])
        # Approaching from under the table is impossible for a resting object (a held one: any side).
        world_nz = shape.normals @ w[2, :3]
        self.approachable = np.flatnonzero(world_nz > -0.5) if table else np.arange(len(shape.normals))

    def _height(self, x: torch.Tensor) -> torch.Tensor:
        """Height above the table; without a table every point is 1 m up (no table term anywhere)."""
        if not self.table:
            return torch.ones(x.shape[:-1], dtype=x.dtype)
        return x @ self.up + self.up0

    def _preshape(self, synergy: np.ndarray, rng: np.random.Generator) -> torch.Tensor:
        lo, hi = self.hand.lower.numpy(), self.hand.upper.numpy()
        base = np.stack([SYNERGIES[k][0] for k in synergy])
        q = base + rng.normal(size=base.shape) * PRESHAPE_SIGMA * (hi - lo)
        return torch.as_tensor(np.clip(q, lo, hi), dtype=self.hand.dtype)

    def sample(self, b: int, rng: np.random.Generator) -> Candidates:
        rot, trans, q, synergy, idx, ok = self.approach(b, rng)
        rot, trans, q = rot[ok], trans[ok], q[ok]
        keep = ok.numpy()
        closed = torch.as_tensor(np.stack([SYNERGIES[k][1] for k in synergy[keep]]).reshape(-1, model.NUM_JOINTS),
                                 dtype=self.hand.dtype)
        q = self.close(rot, trans, q, closed)
        rot, trans, q = self.fit(rot, trans, q)
        return Candidates(rot.numpy().astype(float), trans.numpy().astype(float), q.numpy().astype(float),
                          synergy[keep], idx[keep])

    # --- A --------------------------------------------------------------------------------
    def approach(self, b: int, rng: np.random.Generator):
        dt = self.hand.dtype
        idx = rng.choice(self.approachable, size=b)
        p = torch.as_tensor(self.shape.points[idx], dtype=dt)
        n = torch.as_tensor(self.shape.normals[idx], dtype=dt)
        a = torch.as_tensor(random_cone(-self.shape.normals[idx], APPROACH_CONE_RAD, rng), dtype=dt)
        roll = torch.as_tensor(rng.uniform(0, 2 * np.pi, b), dtype=dt)
        synergy = rng.choice(2, size=b, p=SYNERGY_PROBS)
        q = self._preshape(synergy, rng)
        with torch.no_grad():
            frames, palm = self.hand.link_frames(q)
            eye = torch.eye(3, dtype=dt).expand(b, 3, 3)
            pad_p, pad_n = self.hand.pads(q, eye, torch.zeros(b, 3, dtype=dt))
            palm_c, palm_n = self.hand.palm(palm)
            pinch = torch.as_tensor(synergy == 1)[:, None]  # pinches anchor between thumb and index pads
            anchor_p = torch.where(pinch, (pad_p[:, 0] + pad_p[:, 1]) / 2, palm_c)
            rot = axis_angle(a, roll) @ align(unit(palm_n), a)
            local = self.hand.surface(frames)  # [B,S,3] wrist frame
            rotated = local @ rot.transpose(1, 2)
            base = p - (rot @ anchor_p[..., None]).squeeze(-1)

            def clearance(s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
                pts = rotated + (base + s[:, None] * n)[:, None]
                return -self.sdf(pts).amax(dim=1), self._height(pts).amin(dim=1)

            lo = torch.zeros(b, dtype=dt)
            hi = torch.full((b,), MAX_STANDOFF_M, dtype=dt)
            for _ in range(BISECTION_STEPS):
                mid = (lo + hi) / 2
                clear = clearance(mid)[0] >= CLEARANCE_M
                hi = torch.where(clear, mid, hi)
                lo = torch.where(clear, lo, mid)
            gap, height = clearance(hi)
            ok = (gap >= CLEARANCE_M * 0.5) & (height >= -TABLE_CLEARANCE_M)
            trans = base + hi[:, None] * n
        return rot, trans, q, synergy, idx, ok

    # --- B --------------------------------------------------------------------------------
    def close(self, rot: torch.Tensor, trans: torch.Tensor, q_pre: torch.Tensor, closed: torch.Tensor,
              steps: int = CLOSE_STEPS) -> torch.Tensor:
        """Curl every finger; a joint stops once a link it moves touches (GraspIt's auto-grasp rule).

        So a finger whose proximal phalanx meets the object keeps curling its distal joints and
        wraps on, the way an underactuated hand does, instead of stopping with the pad in the air.
        Only the links that some closing joint moves are tested (joints already at their closed
        value move nothing).
        """
        b = q_pre.shape[0]
        dt = self.hand.dtype
        moved = self.hand.moved_links  # [24, L] joint j moves link l
        closing = torch.as_tensor([n[:2].lower() in model.FINGERS for n in model.JOINT_NAMES])
        closing = closing & ((closed - q_pre).abs() > 1e-6).any(0)
        if not bool(closing.any()) or b == 0:
            return q_pre.clone()
        links = torch.flatten(torch.nonzero(moved[closing].any(0)))
        sample_sel = torch.isin(self.hand.link_index, links)
        link_samples = torch.stack([self.hand.link_index[sample_sel] == i for i in links])  # [L',S']
        moved = moved[:, links]
        tau = torch.zeros(b, model.NUM_JOINTS, dtype=dt)
        active = closing.expand(b, -1).clone()
        with torch.no_grad():
            for step in range(1, steps + 1):
                trial = torch.where(active, torch.full_like(tau, step / steps), tau)
                frames, _ = self.hand.link_frames(q_pre + trial * (closed - q_pre), rot, trans)
                pts = self.hand.surface(frames)[:, sample_sel]
                phi = self.sdf(pts) + (self._height(pts) < 0) * 1.0  # [B,S]; the table counts as contact
                per_link = torch.where(link_samples[None], phi[:, None, :], torch.tensor(-1.0, dtype=dt)).amax(2)
                touching = per_link >= -CONTACT_M  # [B,L']
                hit = (touching[:, None, :] & moved[None]).any(dim=2)  # [B,24]
                tau = torch.where(active & ~hit, trial, tau)
                active = active & ~hit
                if not bool(active.any()):
                    break
        return q_pre + tau * (closed - q_pre)

    # --- C --------------------------------------------------------------------------------
    def fit(self, rot: torch.Tensor, trans: torch.Tensor, q0: torch.Tensor):
        b = q0.shape[0]
        dt = self.hand.dtype
        with torch.no_grad():
            pads, _ = self.hand.pads(q0, rot, trans)
            engaged = self.sdf(pads).abs() < ENGAGED_PAD_M  # [B,5]
        q = q0.clone().requires_grad_(True)
        dx = torch.zeros(b, 3, dtype=dt, requires_grad=True)
        dw = torch.zeros(b, 3, dtype=dt, requires_grad=True)
        opt = torch.optim.Adam([{"params": [q], "lr": 0.02}, {"params": [dx], "lr": 0.001},
                                {"params": [dw], "lr": 0.01}])
        h = 0.002
        offsets = torch.eye(3, dtype=dt) * h
        for _ in range(FIT_STEPS):
            opt.zero_grad()
            r = rotvec(dw) @ rot
            t = trans + dx
            frames, _ = self.hand.link_frames(q, r, t)
            pts = self.hand.surface(frames)
            pad_p, pad_n = self.hand.pads(q, r, t)
            phi_pad = self.sdf(pad_p)
            grad = torch.stack([self.sdf(pad_p + o) - self.sdf(pad_p - o) for o in offsets], dim=-1) / (2 * h)
            opposition = 1 - (pad_n * unit(grad)).sum(-1)  # pad normal along the inward gradient
            pen = torch.relu(self.sdf(pts) - 0.0005)
            table = torch.relu(-self._height(pts))
            energy = ((phi_pad**2 + 1e-5 * opposition) * engaged).sum(1) + 10 * (pen**2).sum(1) + 10 * (table**2).sum(1)
            energy.sum().backward()
            opt.step()
            with torch.no_grad():
                q.copy_(torch.maximum(torch.minimum(q, self.hand.upper), self.hand.lower))
                dx.copy_(dx * (0.005 / dx.norm(dim=1, keepdim=True).clamp_min(0.005)))
                dw.copy_(dw * (np.deg2rad(3) / dw.norm(dim=1, keepdim=True).clamp_min(np.deg2rad(3))))
        with torch.no_grad():
            return rotvec(dw) @ rot, trans + dx, q.detach().clone()

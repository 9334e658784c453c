"""Functional candidates: a fingertip on a small part while the rest of the hand holds the body.

Two families, both seeded by part geometry (an annotated part's sample points or centre), never by a
task rule; the rules are applied to their output afterwards like to any raw grasp:

* **part pad**: the thumb or the index pad is put on a point of a small annotated surface (a button,
  a trigger, a pen end, a stapler top) opposed to its normal, the other fingers and the thumb then curl
  until they touch the body. This is how a hand presses a pump head with the index while the palm
  holds the bottle; the antipodal family can only reach such a part by pinching its sides.
* **cap ring**: the palm faces down onto a centre-type part (a bottle cap) and all five pads are
  fitted onto the part's side at their own angle around its axis, the way a hand unscrews a cap.

Both fit with Adam on the joints and a small wrist correction (gradients from the SDF grid and the
hand's primitives), exactly like the antipodal fit, and are screened by the same cheap twin of the
exact filter before ``generate.py`` runs the exact checks.
"""

from __future__ import annotations

import numpy as np
import torch

from dextog_gym.grasp_sources.isf.antipodal import ABDUCTION, AntipodalSampler, _empty
from dextog_gym.grasp_sources.isf.rotations import align, axis_angle, random_cone, rotvec, unit
from dextog_gym.grasp_sources.isf.sampler import CLOSED, Candidates
from dextog_gym.hand import model
from dextog_gym.hand.batch import JOINT

TH, FF = model.FINGERS.index("th"), model.FINGERS.index("ff")
_FINGER_OF_JOINT = np.array([name[:2].lower() for name in model.JOINT_NAMES])
NORMAL_CONE_RAD = np.deg2rad(20.0)  # the pad meets the part up to this far off its normal
ROLL_TRIALS = 12  # rolls of the hand about the part normal; the least colliding one starts the fit
FIT_ITERATIONS = 40
PAD_OFFSET_M = 0.001  # aim the pad this far outside the surface (the capsule end is rounded)
TARGET_WEIGHT, OPPOSITION_WEIGHT = 1e4, 30.0
PEN_WEIGHT, PEN_MARGIN_M, TABLE_WEIGHT, TABLE_MARGIN_M = 1e3, 0.0015, 1e5, 0.001
HOLD_WEIGHT, HOLD_REACH_M = 3e2, 0.04  # other pads within reach are drawn onto the body
SETTLE_ITERATIONS, SETTLE_HOLD_WEIGHT, SETTLE_PEN_WEIGHT = 30, 1e3, 2e3  # after closing: holding pads onto the body
PALM_WEIGHT = 30.0  # a weak pull of the palm toward the body: hold it, do not hover beside it
RING_ITERATIONS, RING_PAD_GAP_M, RING_MAX_RADIUS_M, RING_PEN_WEIGHT = 60, 0.015, 0.04, 1e4
_PAIRS = torch.triu_indices(5, 5, offset=1)
RING_START_ABOVE_M, RING_OUTSIDE_M, RING_GATHER_PEN_WEIGHT, RING_GATHER_ITERATIONS = 0.005, 0.01, 1e3, 120
RING_CAPSULE_MARGIN_M, RING_OVERLAP_WEIGHT = 0.002, 1e6
RING_TOP_RADIUS_FRACTION = 0.6  # the little finger's pad on the top face, this far out toward the rim
RING_OPPOSITION_WEIGHT = 3.0  # at 30 (the part pad's), turning a pad to face the cap beat moving it there
RING_TILT_RAD = np.deg2rad(15.0)  # palm normal within this of straight down onto the part
# Finger angles around the part, from the point opposite the thumb (index, middle, ring, little).
RING_FINGER_OFFSETS = np.deg2rad([-108.0, -36.0, 36.0, 108.0])  # five pads 72° apart: room for each fingertip
CAP_RING_FRACTION = 0.5  # of the candidates for an object with both kinds of part
SEPARATION_WEIGHT = 3e4
HAND_SUBSET, OBJECT_SUBSET = 256, 96

# Pre-shape ranges per joint (uniform), by the finger that goes on the part. The holding fingers start
# half curled and close onto the body afterwards; the task finger's own flexion decides where the palm
# ends up relative to the part (index flexed 90° at the knuckle: palm beside the body, pad facing down).
_HOLDING = {f"{f}J{j}": r for f in ("MF", "RF", "LF") for j, r in ((2, (0.2, 0.9)), (1, (0.2, 0.8)), (0, (0.1, 0.4)))}
_INDEX_PAD = {"FFJ2": (0.2, 1.57), "FFJ1": (0.0, 0.6), "FFJ0": (0.0, 0.4),
              "THJ4": (0.5, 1.05), "THJ3": (0.2, 1.0), "THJ1": (0.0, 0.4), **_HOLDING}
_THUMB_PAD = {"THJ4": (0.3, 1.05), "THJ3": (0.3, 1.22), "THJ1": (0.0, 0.52), "THJ0": (-0.6, 0.0),
              "FFJ2": (0.2, 0.9), "FFJ1": (0.2, 0.8), "FFJ0": (0.1, 0.4), **_HOLDING}
# Five fingertips pointing down around a cap: knuckles bent, thumb opposed under the palm.
_CAP_RING = {**{f"{f}J{j}": r for f in ("FF", "MF", "RF", "LF") for j, r in ((2, (0.3, 0.9)), (1, (0.2, 0.7)), (0, (0.1, 0.4)))},
             "THJ4": (0.6, 1.05), "THJ3": (0.2, 0.8), "THJ1": (0.0, 0.4), "THJ0": (-0.4, 0.0)}


def _draw(ranges: dict[str, tuple[float, float]], m: int, rng: np.random.Generator) -> np.ndarray:
    q = np.zeros((m, model.NUM_JOINTS))
    for name, (lo, hi) in ranges.items():
        q[:, JOINT[name]] = rng.uniform(lo, hi, m)
    return q


class FunctionalSampler:
    def __init__(self, antipodal: AntipodalSampler):
        self.antipodal = antipodal
        self.base = antipodal.base
        self.hand, self.sdf, self.shape = antipodal.hand, antipodal.sdf, antipodal.shape
        parts = list(self.shape.parts.values())
        self.surfaces = [pts for pts, _ in parts if len(pts) > 1]
        self.centres = [pts[0] for pts, _ in parts if len(pts) == 1]
        w = self.shape.world_from_object
        self.up = w[2, :3].copy()  # object-frame up: the cap axis of a standing bottle
        self._neighbours: torch.Tensor | None = None

    @property
    def available(self) -> bool:
        return bool(self.surfaces or self.centres)

    def sample(self, b: int, rng: np.random.Generator) -> Candidates:
        if not self.available:
            return _empty()
        ring = rng.random(b) < (CAP_RING_FRACTION if self.surfaces and self.centres else float(bool(self.centres)))
        out = [self._part_pad(int((~ring).sum()), rng), self._cap_ring(int(ring.sum()), rng)]
        return Candidates(*(np.concatenate([getattr(c, k) for c in out]) for k in
                            ("rot", "trans", "q", "synergy", "surface_index")))

    # --- part pad -------------------------------------------------------------------------------------
    def _part_pad(self, m: int, rng: np.random.Generator) -> Candidates:
        if m == 0 or not self.surfaces:
            return _empty()
        which = rng.integers(len(self.surfaces), size=m)
        c = np.stack([self.surfaces[k][rng.integers(len(self.surfaces[k]))] for k in which])
        _, c, n = self.shape.nearest(c)
        n = random_cone(n, NORMAL_CONE_RAD, rng)
        finger = np.where(rng.random(m) < 0.5, TH, FF)
        q0 = np.where((finger == TH)[:, None], _draw(_THUMB_PAD, m, rng), _draw(_INDEX_PAD, m, rng))
        targets = np.full((m, 5, 3), np.nan)
        normals = np.zeros((m, 5, 3))
        targets[np.arange(m), finger] = c + PAD_OFFSET_M * n
        normals[np.arange(m), finger] = n
        rot0, trans0 = self._place(q0, finger, targets, n, rng)
        rot, trans, q = self._fit(rot0, trans0, torch.as_tensor(q0, dtype=self.hand.dtype), targets, normals,
                                  hold=True, ring=False)
        closing = torch.as_tensor(_FINGER_OF_JOINT[None] != np.array(model.FINGERS)[finger][:, None])
        closed = torch.where(closing, torch.as_tensor(CLOSED, dtype=q.dtype).expand_as(q), q)
        q = self.base.close(rot, trans, q, closed)
        # Closing stops a finger when any of its links touches; draw the holding pads onto the body.
        rot, trans, q = self._fit(rot, trans, q, targets, normals, hold=True, ring=False,
                                  iterations=SETTLE_ITERATIONS, hold_weight=SETTLE_HOLD_WEIGHT,
                                  pen_weight=SETTLE_PEN_WEIGHT, wrist=False)
        return self._screen(rot, trans, q, 2, self._surface_index(c))

    # --- cap ring -------------------------------------------------------------------------------------
    def _cap_ring(self, m: int, rng: np.random.Generator) -> Candidates:
        if m == 0 or not self.centres:
            return _empty()
        dt = self.hand.dtype
        centre = np.stack([self.centres[k] for k in rng.integers(len(self.centres), size=m)])
        q0 = _draw(_CAP_RING, m, rng)
        down = random_cone(np.tile(-self.up, (m, 1)), RING_TILT_RAD, rng)
        qt = torch.as_tensor(q0, dtype=dt)
        with torch.no_grad():
            _, palm = self.hand.link_frames(qt)
            _, palm_n = self.hand.palm(palm)
            tilt = align(unit(palm_n), torch.as_tensor(down, dtype=dt))
            eye = torch.eye(3, dtype=dt).expand(m, 3, 3)
            pads, _ = self.hand.pads(qt, eye, torch.zeros(m, 3, dtype=dt))
            # A random heading about the down axis; the thumb and the four fingertips straddle the part
            # (their midpoint on its centre), so the fit closes them onto its side from outside.
            d = torch.as_tensor(down, dtype=dt)
            heading = torch.as_tensor(rng.uniform(0, 2 * np.pi, m), dtype=dt)
            rot = axis_angle(d, heading) @ tilt
            mid = (pads[:, 0] + pads[:, 1:].mean(1)) / 2
            trans = torch.as_tensor(centre, dtype=dt) - (rot @ mid[..., None]).squeeze(-1)
            # Vertically, the pads' mean goes a little above the centre (below it is the neck and shoulder).
            up = torch.as_tensor(self.up, dtype=dt)
            pads_w = pads @ rot.transpose(1, 2) + trans[:, None]
            lift = RING_START_ABOVE_M - ((pads_w.mean(1) - torch.as_tensor(centre, dtype=dt)) @ up)
            trans = trans + lift[:, None] * up
            pads_w = (pads_w + lift[:, None, None] * up).numpy()
        # Each pad's target: the part's side at its own angle around the axis. The thumb keeps its angle;
        # the fingers spread over the opposite side in their anatomical order (index nearest the thumb).
        e1 = np.cross(self.up, [1.0, 0.0, 0.0] if abs(self.up[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 /= np.linalg.norm(e1)
        e2 = np.cross(self.up, e1)
        rel = pads_w - centre[:, None]
        angle = np.arctan2(rel @ e2, rel @ e1)  # [m,5]
        turn = np.angle(np.exp(1j * (angle[:, 1] - angle[:, 4])))  # index ahead of little: + or -
        side = np.where(turn >= 0, 1.0, -1.0)[:, None]
        target_angle = np.concatenate([angle[:, :1], angle[:, :1] + np.pi - side * RING_FINGER_OFFSETS], axis=1)
        radial = np.cos(target_angle)[..., None] * e1 + np.sin(target_angle)[..., None] * e2
        # March inward from outside to the first point inside the part: its side at the centre's height
        # (marching outward from the centre trips on the SDF's inner seam between cap and neck).
        steps = np.arange(int(RING_MAX_RADIUS_M / 0.001), 0, -1) * 0.001
        ray = centre[:, None, None] + radial[:, :, None] * steps[None, None, :, None]  # [m,5,S,3]
        with torch.no_grad():
            inside = self.sdf(torch.as_tensor(ray.reshape(m, -1, 3), dtype=dt)).numpy().reshape(m, 5, -1) > 0
        exit_at = np.where(inside.any(-1), np.argmax(inside, axis=-1), len(steps) - 1)
        rim = centre[:, None] + radial * steps[exit_at][..., None]
        _, tgt, nrm = self.shape.nearest(rim.reshape(-1, 3))
        nrm = nrm.reshape(m, 5, 3)
        targets = tgt.reshape(m, 5, 3) + PAD_OFFSET_M * nrm
        # The short little finger cannot reach the side past the ring finger without crossing the part's
        # top; its pad goes on the top instead, near the rim in its own direction (still within Eq. 15's
        # 2.5 cm of the centre, and pressing down helps the twist).
        rise = np.arange(1, int(RING_MAX_RADIUS_M / 0.001) + 1) * 0.001
        column = centre[:, None] + rise[None, :, None] * self.up
        with torch.no_grad():
            in_col = self.sdf(torch.as_tensor(column, dtype=dt)).numpy() > 0
        top = rise[np.where(in_col.any(1), np.argmin(in_col, axis=1), 0)]  # first step above the top face
        rim_radius = np.linalg.norm(tgt.reshape(m, 5, 3)[:, 4] - centre, axis=1)
        targets[:, 4] = (centre + (top[:, None] + PAD_OFFSET_M) * self.up
                         + RING_TOP_RADIUS_FRACTION * rim_radius[:, None] * radial[:, 4])
        nrm[:, 4] = self.up
        # Two stages: the pads gather to a ring just outside the part (collisions barely weighed, so the
        # fingers can move past each other and the part's edge), then onto its side with no penetration.
        rot, trans, q = self._fit(rot, trans, torch.as_tensor(q0, dtype=dt), targets + RING_OUTSIDE_M * nrm, nrm,
                                  hold=False, ring=True, iterations=RING_GATHER_ITERATIONS, pen_weight=RING_GATHER_PEN_WEIGHT,
                                  opposition_weight=0.0)
        rot, trans, q = self._fit(rot, trans, q, targets, nrm, hold=False, ring=True, iterations=RING_ITERATIONS,
                                  pen_weight=RING_PEN_WEIGHT, opposition_weight=RING_OPPOSITION_WEIGHT)
        return self._screen(rot, trans, q, 3, self._surface_index(centre))

    # --- shared ---------------------------------------------------------------------------------------
    def _place(self, q0: np.ndarray, finger: np.ndarray, targets: np.ndarray, n: np.ndarray,
               rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Rigid pose putting the task pad on its target, opposed to n; the roll colliding least wins."""
        dt = self.hand.dtype
        m = len(q0)
        qt = torch.as_tensor(q0, dtype=dt)
        rows = torch.arange(m)
        f = torch.as_tensor(finger)
        tgt = torch.as_tensor(targets[np.arange(m), finger], dtype=dt)
        nt = torch.as_tensor(n, dtype=dt)
        with torch.no_grad():
            eye = torch.eye(3, dtype=dt).expand(m, 3, 3)
            pad_p, pad_n = self.hand.pads(qt, eye, torch.zeros(m, 3, dtype=dt))
            frames, palm = self.hand.link_frames(qt)
            local = self.hand.surface(frames)
            palm_c, _ = self.hand.palm(palm)
            base = align(pad_n[rows, f], -nt)
            start = torch.as_tensor(rng.uniform(0, 2 * np.pi, m), dtype=dt)
            best = torch.full((m,), float("inf"), dtype=dt)
            rot0, trans0 = base.clone(), torch.zeros(m, 3, dtype=dt)
            for k in range(ROLL_TRIALS):
                r = axis_angle(nt, start + 2 * np.pi * k / ROLL_TRIALS) @ base
                t = tgt - (r @ pad_p[rows, f][..., None]).squeeze(-1)
                pts = local @ r.transpose(1, 2) + t[:, None]
                palm_w = (r @ palm_c[..., None]).squeeze(-1) + t
                cost = (torch.relu(self.sdf(pts)).sum(1) + torch.relu(-self.base._height(pts)).sum(1)
                        + 0.3 * self.sdf(palm_w).abs())
                better = cost < best
                best = torch.where(better, cost, best)
                rot0 = torch.where(better[:, None, None], r, rot0)
                trans0 = torch.where(better[:, None], t, trans0)
        return rot0, trans0

    def _fit(self, rot0, trans0, q0, targets: np.ndarray, normals: np.ndarray, hold: bool, ring: bool,
             iterations: int = FIT_ITERATIONS, hold_weight: float = HOLD_WEIGHT, pen_weight: float = PEN_WEIGHT,
             wrist: bool = True, opposition_weight: float = OPPOSITION_WEIGHT):
        """Adam on joints and a small wrist correction: targeted pads onto their points, opposed to the
        normals; no penetration of the object (both ways) or the table; optionally holding pads onto the body."""
        dt = self.hand.dtype
        m = q0.shape[0]
        has = torch.as_tensor(~np.isnan(targets[..., 0]))
        tgt = torch.as_tensor(np.nan_to_num(targets), dtype=dt)
        nrm = torch.as_tensor(normals, dtype=dt)
        obj = self.antipodal.object_points()
        with torch.no_grad():
            frames, _ = self.hand.link_frames(q0, rot0, trans0)
            near = self.hand.hand_sdf(frames, obj.expand(m, -1, -1)).topk(min(OBJECT_SUBSET, len(obj)), dim=1).indices
            obj_near = obj[near]
            surf = self.hand.surface(frames)
            phi_o = torch.maximum(self.sdf(surf), -self.base._height(surf))
            hand_near = phi_o.topk(min(HAND_SUBSET, phi_o.shape[1]), dim=1).indices
        q = q0.clone().requires_grad_(True)
        dx = torch.zeros(m, 3, dtype=dt, requires_grad=True)
        dw = torch.zeros(m, 3, dtype=dt, requires_grad=True)
        opt = torch.optim.Adam([{"params": [q], "lr": 0.03}, {"params": [dx], "lr": 0.002 * wrist},
                                {"params": [dw], "lr": 0.03 * wrist}])
        free = torch.as_tensor(ABDUCTION) if not ring else torch.zeros(model.NUM_JOINTS, dtype=torch.bool)
        for _ in range(iterations):
            opt.zero_grad()
            r = rotvec(dw) @ rot0
            t = trans0 + dx
            frames, palm = self.hand.link_frames(q, r, t)
            pts = torch.gather(self.hand.surface(frames), 1, hand_near[..., None].expand(-1, -1, 3))
            pad_p, pad_n = self.hand.pads(q, r, t)
            miss = ((pad_p - tgt) ** 2).sum(-1)
            loss = TARGET_WEIGHT * (miss * has).sum(1)
            loss = loss + opposition_weight * ((1 + (pad_n * nrm).sum(-1)) * has).sum(1)
            loss = loss + pen_weight * (torch.relu(self.sdf(pts) - PEN_MARGIN_M) ** 2).sum(1)
            loss = loss + pen_weight * (torch.relu(self.hand.hand_sdf(frames, obj_near) - PEN_MARGIN_M) ** 2).sum(1)
            loss = loss + TABLE_WEIGHT * (torch.relu(TABLE_MARGIN_M - self.base._height(pts)) ** 2).sum(1)
            if hold:
                phi = self.sdf(pad_p)
                reach = (phi.abs() < HOLD_REACH_M) & ~has
                palm_c, _ = self.hand.palm(palm)
                loss = loss + hold_weight * (phi**2 * reach).sum(1) + PALM_WEIGHT * self.sdf(palm_c).abs()
            if ring:
                # Fingertips crowd around a small part: keep every two pads a fingertip's width apart, and
                # neighbouring fingers' capsules apart (the little finger otherwise crosses the ring finger).
                gap = (pad_p[:, :, None] - pad_p[:, None]).norm(dim=-1)[:, _PAIRS[0], _PAIRS[1]]
                loss = loss + SEPARATION_WEIGHT * (torch.relu(RING_PAD_GAP_M - gap) ** 2).sum(1)
                if pen_weight > 0:  # not in the gathering stage: fingers must be free to pass each other
                    loss = loss + RING_OVERLAP_WEIGHT * self._finger_overlap(frames)
            loss.sum().backward()
            q.grad[:, free] = 0.0  # abduction stays at the pre-shape except around a cap (fingers cross)
            opt.step()
            with torch.no_grad():
                q.copy_(torch.maximum(torch.minimum(q, self.hand.upper), self.hand.lower))
        with torch.no_grad():
            return rotvec(dw) @ rot0, trans0 + dx, q.detach().clone()

    def _finger_overlap(self, frames: torch.Tensor) -> torch.Tensor:
        """Σ over capsules of two different fingers of (r_a + r_b + margin − distance)₊², with each capsule
        stood for by five points along its axis (crossing capsules have close points even where their
        centres are apart)."""
        if self._neighbours is None:
            names = self.hand.link_names
            finger = np.array([names[i][:2] for i in self.hand.capsule_link.tolist()])
            pairs = [(a, b) for f, g in (("ff", "mf"), ("mf", "rf"), ("rf", "lf"), ("ff", "rf"), ("mf", "lf"), ("ff", "lf"))
                     for a in np.flatnonzero(finger == f) for b in np.flatnonzero(finger == g)]
            self._neighbours = torch.as_tensor(np.array(pairs).T)
        cap = frames[:, self.hand.capsule_link] @ self.hand.capsule_origin  # [B,C,4,4]
        along = cap[..., :3, 2] * self.hand.capsule_half[None, :, None]
        pts = torch.stack([cap[..., :3, 3] + k * along for k in (-1.0, -0.5, 0.0, 0.5, 1.0)], dim=2)  # [B,C,5,3]
        a, b = self._neighbours
        d = (pts[:, a, :, None] - pts[:, b, None]).norm(dim=-1).amin(dim=(2, 3))  # [B,P]
        reach = self.hand.capsule_radius[a] + self.hand.capsule_radius[b] + RING_CAPSULE_MARGIN_M
        return (torch.relu(reach - d) ** 2).sum(1)

    def _surface_index(self, points: np.ndarray) -> np.ndarray:
        from scipy.spatial import cKDTree

        return cKDTree(self.shape.points).query(points)[1].astype(int)

    def _screen(self, rot, trans, q, synergy: int, idx: np.ndarray) -> Candidates:
        keep = self.antipodal.acceptable(rot, trans, q) if self.antipodal.screen else torch.ones(len(q), dtype=torch.bool)
        k = keep.numpy()
        return Candidates(rot[keep].numpy().astype(float), trans[keep].numpy().astype(float), q[keep].numpy().astype(float),
                          np.full(int(k.sum()), synergy, dtype=int), idx[k])

"""Antipodal candidates: pick opposed surface pairs, then fit thumb and finger pads onto them.

This is the ISF idea (fit the finger contact surfaces to object surface points, jointly over the
palm transform and the finger joints) applied to a Shadow Hand with gradients: a surface point
p1 and the point p2 where the ray along −n1 leaves the object give a pair the hand can squeeze
across (width 4 mm–9 cm, normals roughly opposed). The thumb pad goes on one, the index pad on
the other, the middle pad is drawn onto the surface beside the index, and then ring and little
fingers curl until they touch. Pinches of buttons, caps and pen ends come from this family; the
approach–close family in ``sampler.py`` gives the wrapping power grasps.
"""

from __future__ import annotations

import numpy as np
import torch

from dextog_gym.grasp_sources.isf.rotations import align, axis_angle, rotvec, unit
from dextog_gym.grasp_sources.isf.sampler import SYNERGIES, Candidates, CandidateSampler
from dextog_gym.hand import model
from dextog_gym.hand.batch import JOINT

MIN_WIDTH_M, MAX_WIDTH_M = 0.004, 0.09
RAY_STEP_M = 0.001
MIN_OPPOSITION = 0.9  # -n1·n2 (looser pairs tilt the pads and sink the capsule ends)
FIT_ITERATIONS = 40  # phase 1: pads onto their targets
SETTLE_ITERATIONS = 0  # phase 2: targets down-weighted, penetration cleared
ROLL_TRIALS = 8
PEN_MARGIN_M = 0.0015
TARGET_WEIGHT, TARGET_WEIGHT_SETTLE = 1e4, 1e2
PEN_WEIGHT, PEN_WEIGHT_SETTLE = 1e3, 1e5
PAD_WEIGHT, PAD_SLACK_M = 1e5, 0.002
PAD_OFFSET_M = 0.001
OPPOSITION_WEIGHT = 30.0
MAX_DOWN_NORMAL, MIN_CONTACT_HEIGHT_M = 0.5, 0.008
PAIR_DRAWS = 4
PART_SEED_FRACTION = 0.5  # seeds drawn near annotated parts (each part in turn), the rest uniform
PART_RADIUS_M, PART_CENTRE_RADIUS_M = 0.005, 0.018  # Eqs. 12–14 distance; inside Eq. 15 radius 2.5 cm
# Pinches seeded near a centre-type part (a bottle cap's centre) also draw middle, ring and little
# pads onto the surface within GATHER_RADIUS_M of that centre, abduction free: a five-finger
# fingertip grasp of the part, the way a hand unscrews a cap. Other pinches curl ring and little.
GATHER_WEIGHT, GATHER_RADIUS_M, GATHER_PEN_FACTOR = 1e4, 0.016, 10.0  # five fingers on a cap press in: 10× pen
# Gathered fingertips crowd and cross (little over middle): in the wrist frame the pads keep
# their knuckles' order along x (index +3.3 cm ... little −3.4 cm), SEPARATION_M apart.
SEPARATION_WEIGHT, SEPARATION_M = 3e4, 0.017
HAND_SUBSET = 256  # hand samples (nearest the object at the start) the fit keeps out of the object
CLOSE_STEPS = 20
TARGET_SLACK_M = 0.0
MIDDLE_WEIGHT, TABLE_WEIGHT, TABLE_MARGIN_M = 3e3, 1e5, 0.001
OBJECT_SUBSET = 96  # object points (nearest the hand at the start) the fit keeps out of the capsules
# The candidate's own check before the exact filter (grid SDF; stricter than the 5 mm there).
PEN_KEEP_M, PEN_OBJECT_KEEP_M, PAD_KEEP_M, TABLE_KEEP_M = 0.006, 0.0049, 0.0055, 0.002

# Pinch poses found offline with torch FK (thumb pad to the index/middle midpoint, opposed normals)
# for a closed pinch and a 3 cm one; widths in between and beyond are interpolated linearly.
# Abduction 0 for index and middle: spread either way, their proximal phalanges touch.
_PINCH_0 = {"FFJ3": 0.0, "FFJ2": 1.57, "FFJ1": 0.29, "MFJ3": 0.0, "MFJ2": 1.57, "MFJ1": 0.3,
            "THJ4": 0.69, "THJ3": 1.22, "THJ2": -0.05, "THJ1": 0.52}
_PINCH_3CM = {"FFJ3": 0.0, "FFJ2": 1.29, "FFJ1": 0.09, "MFJ3": 0.0, "MFJ2": 1.3, "MFJ1": 0.08,
              "THJ4": 0.78, "THJ3": 1.15, "THJ2": -0.13, "THJ1": 0.52}
_OTHERS = {"RFJ2": 0.3, "LFJ2": 0.3}


def _vec(values: dict[str, float]) -> np.ndarray:
    out = np.zeros(model.NUM_JOINTS)
    for k, v in {**_OTHERS, **values}.items():
        out[JOINT[k]] = v
    return out


PINCH_0, PINCH_3CM = _vec(_PINCH_0), _vec(_PINCH_3CM)
# Finger abduction stays at the preset: jittered or fitted abduction made ring and little (and
# index and middle) fingers cross in half of all fits.
ABDUCTION = np.array([n in ("FFJ3", "MFJ3", "RFJ3", "LFJ3", "LFJ4") for n in model.JOINT_NAMES])


class AntipodalSampler:
    def __init__(self, base: CandidateSampler):
        self.base = base
        self.hand = base.hand
        self.sdf = base.sdf
        self.shape = base.shape
        self._obj_pts: torch.Tensor | None = None
        self._regions: list[np.ndarray] | None = None
        self._centres: list[np.ndarray | None] = []
        self.screen = True  # drop candidates the exact filter would reject (``acceptable``)

    def part_regions(self) -> list[np.ndarray]:
        """Approachable surface samples near each annotated part (a centre such as c_cap: 2.5 cm)."""
        if self._regions is None:
            from scipy.spatial import cKDTree

            self._regions = []
            self._centres = []
            allowed = np.zeros(len(self.shape.points), dtype=bool)
            allowed[self.base.approachable] = True
            for pts, _ in self.shape.parts.values():
                radius = PART_CENTRE_RADIUS_M if len(pts) == 1 else PART_RADIUS_M
                d, _ = cKDTree(pts).query(self.shape.points)
                region = np.flatnonzero((d <= radius) & allowed)
                if len(region):
                    self._regions.append(region)
                    self._centres.append(pts[0] if len(pts) == 1 else None)
        return self._regions

    def seeds(self, b: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """First pair points: uniform over the surface, and a share stratified over annotated parts.

        Uniform sampling almost never lands on a 15 mm button or a cap (the paper kept ~0.1% of its
        raw grasps after the rules); drawing ``PART_SEED_FRACTION`` of the seeds near each annotated
        part in turn gives small parts the coverage they need. No task rule is applied here.
        """
        idx = rng.choice(self.base.approachable, size=b)
        on_part = np.zeros(b, dtype=bool)
        centre = np.full((b, 3), np.nan)  # the centre-type part a seed was drawn for
        regions = self.part_regions()
        if regions:
            on_part = rng.random(b) < PART_SEED_FRACTION
            part_rows = np.flatnonzero(on_part)
            which = rng.integers(len(regions), size=len(part_rows))
            for k, region in enumerate(regions):
                sel = part_rows[which == k]
                idx[sel] = rng.choice(region, size=len(sel))
                if self._centres[k] is not None:
                    centre[sel] = self._centres[k]
        return idx, on_part, centre

    def pairs(self, b: int, rng: np.random.Generator):
        idx, on_part, centre = self.seeds(b, rng)
        p1 = self.shape.points[idx]
        n1 = self.shape.normals[idx]
        steps = np.arange(1, int(MAX_WIDTH_M / RAY_STEP_M) + 1) * RAY_STEP_M
        ray = p1[:, None] - n1[:, None] * steps[None, :, None]
        with torch.no_grad():
            inside = self.sdf(torch.as_tensor(ray, dtype=self.hand.dtype)).numpy() > 0
        # Exits: outside samples right after an inside one. The first exit pinches the part under
        # p1; a later one (past a gap, e.g. a stapler's arm and base) squeezes across both.
        exit_mask = np.zeros_like(inside)
        exit_mask[:, 1:] = inside[:, :-1] & ~inside[:, 1:]
        has_exit = exit_mask.any(axis=1)
        n_exits = exit_mask.sum(axis=1)
        pick = (rng.random(b) * np.maximum(n_exits, 1)).astype(int)  # which exit, uniform
        order = np.cumsum(exit_mask, axis=1) - 1
        first = np.argmax(exit_mask & (order == pick[:, None]), axis=1)
        width = steps[first]
        p2 = p1 - n1 * width[:, None]
        _, p2, n2 = self.shape.nearest(p2)
        width = np.linalg.norm(p2 - p1, axis=1)
        ok = has_exit & (width >= MIN_WIDTH_M) & (width <= MAX_WIDTH_M) & ((n1 * n2).sum(1) <= -MIN_OPPOSITION)
        if self.base.table:
            # A pad under the object or closer to the table than a finger's radius cannot get there.
            # (Flat objects such as a pen lying down: the sides' mid-height is allowed.)
            w = self.shape.world_from_object
            top = float((self.shape.points @ w[2, :3]).max() + w[2, 3])
            min_height = min(MIN_CONTACT_HEIGHT_M, 0.4 * top)
            for p, n in ((p1, n1), (p2, n2)):
                ok &= (n @ w[2, :3] > -MAX_DOWN_NORMAL) & (p @ w[2, :3] + w[2, 3] >= min_height)
        return idx, p1, n1, p2, n2, width, ok, on_part, centre

    def object_points(self) -> torch.Tensor:
        """The object surface points the penetration metric tests against the hand's primitives."""
        if self._obj_pts is None:
            from dextog_gym.metrics import grasp_quality

            key = ("objpts", self.shape.object_id)
            if key not in grasp_quality._cache:
                grasp_quality._cache[key] = grasp_quality.object_points(self.shape)
            self._obj_pts = torch.as_tensor(grasp_quality._cache[key], dtype=self.hand.dtype)
        return self._obj_pts

    def sample(self, b: int, rng: np.random.Generator) -> Candidates:
        dt = self.hand.dtype
        # Rays are cheap and many surface points have no usable partner: draw extra, fit at most b.
        idx, p1, n1, p2, n2, width, ok, on_part, centre = self.pairs(PAIR_DRAWS * b, rng)
        # Part-seeded pairs are rarer (small parts have few usable partners): keep their share.
        ok = np.flatnonzero(ok)
        from_part = ok[on_part[ok]][: int(PART_SEED_FRACTION * b)]
        ok = np.sort(np.concatenate([from_part, ok[~on_part[ok]][: b - len(from_part)]]))
        idx, p1, n1, p2, n2, width, centre = (a[ok] for a in (idx, p1, n1, p2, n2, width, centre))
        gather = ~np.isnan(centre[:, 0])
        m = len(idx)
        if m == 0:
            return _empty()
        swap = rng.random(m) < 0.5  # the thumb takes p1 or p2
        c_th = np.where(swap[:, None], p2, p1)
        n_th = np.where(swap[:, None], n2, n1)
        c_ff = np.where(swap[:, None], p1, p2)
        n_ff = np.where(swap[:, None], n1, n2)
        lo, hi = self.hand.lower.numpy(), self.hand.upper.numpy()
        blend = (width / 0.03)[:, None]
        jitter = rng.normal(size=(m, model.NUM_JOINTS)) * 0.03 * (hi - lo) * ~ABDUCTION
        q0 = PINCH_0 + blend * (PINCH_3CM - PINCH_0) + jitter
        q0 = torch.as_tensor(np.clip(q0, lo, hi), dtype=dt)
        as_t = lambda a: torch.as_tensor(a, dtype=dt)  # noqa: E731
        c_th, n_th, c_ff, n_ff = as_t(c_th), as_t(n_th), as_t(c_ff), as_t(n_ff)
        with torch.no_grad():
            eye = torch.eye(3, dtype=dt).expand(m, 3, 3)
            pad_p, _ = self.hand.pads(q0, eye, torch.zeros(m, 3, dtype=dt))
            d_hand = unit(pad_p[:, 1] - pad_p[:, 0])
            d_obj = unit(c_ff - c_th)
            # Half of all rolls about the squeeze axis put the palm through the object: try a few
            # and start from the one whose hand penetrates the object and the table least.
            frames0, _ = self.hand.link_frames(q0)
            local = self.hand.surface(frames0)
            base_rot = align(d_hand, d_obj)
            start = as_t(rng.uniform(0, 2 * np.pi, m))
            best_cost = torch.full((m,), float("inf"), dtype=dt)
            rot0 = base_rot.clone()
            trans0 = torch.zeros(m, 3, dtype=dt)
            for k in range(ROLL_TRIALS):
                r = axis_angle(d_obj, start + 2 * np.pi * k / ROLL_TRIALS) @ base_rot
                t = (c_th + c_ff) / 2 - (r @ ((pad_p[:, 0] + pad_p[:, 1]) / 2)[..., None]).squeeze(-1)
                pts = local @ r.transpose(1, 2) + t[:, None]
                cost = torch.relu(self.sdf(pts)).sum(1) + torch.relu(-self.base._height(pts)).sum(1)
                better = cost < best_cost
                best_cost = torch.where(better, cost, best_cost)
                rot0 = torch.where(better[:, None, None], r, rot0)
                trans0 = torch.where(better[:, None], t, trans0)
            # The object points nearest the hand's primitives at the start: the ones the fit keeps out.
            obj = self.object_points()
            frames, _ = self.hand.link_frames(q0, rot0, trans0)
            phi_h = self.hand.hand_sdf(frames, obj.expand(m, -1, -1))
            near = phi_h.topk(min(OBJECT_SUBSET, len(obj)), dim=1).indices
            obj_near = obj[near]  # [m,K,3]
            # Likewise the hand samples nearest the object: far ones cannot reach it in a short fit.
            surf = self.hand.surface(frames)
            phi_o = torch.maximum(self.sdf(surf), -self.base._height(surf))
            hand_near = phi_o.topk(min(HAND_SUBSET, phi_o.shape[1]), dim=1).indices  # [m,K']
        # Aim the pads a little outside the surface: the pad point lies on the capsule, so a
        # capsule touching exactly at the target is already pressed a hair into a curved surface.
        rot, trans, q = self._fit(rot0, trans0, q0, c_th + PAD_OFFSET_M * n_th, n_th, c_ff + PAD_OFFSET_M * n_ff,
                                  n_ff, obj_near, hand_near, as_t(np.nan_to_num(centre)), torch.as_tensor(gather))
        closed = torch.as_tensor(SYNERGIES[0][1], dtype=dt).expand(m, -1).clone()
        keep_joints = torch.as_tensor([not n.startswith(("RF", "LF")) for n in model.JOINT_NAMES])
        closed[:, keep_joints] = q[:, keep_joints]  # only ring and little fingers still curl
        q = torch.where(torch.as_tensor(gather)[:, None], q, self.base.close(rot, trans, q, closed, steps=CLOSE_STEPS))
        keep = self.acceptable(rot, trans, q) if self.screen else torch.ones(m, dtype=torch.bool)
        synergy = np.ones(int(keep.sum()), dtype=int)
        return Candidates(rot[keep].numpy().astype(float), trans[keep].numpy().astype(float),
                          q[keep].numpy().astype(float), synergy, idx[keep.numpy()])

    def acceptable(self, rot: torch.Tensor, trans: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        """Cheap, slightly stricter twin of the exact filter: drop candidates that would fail it."""
        with torch.no_grad():
            frames, _ = self.hand.link_frames(q, rot, trans)
            pts = self.hand.surface(frames)
            pen = self.sdf(pts).amax(1)
            low = self.base._height(pts).amin(1)
            pads, _ = self.hand.pads(q, rot, trans)
            pad_ok = self.sdf(pads).abs() < PAD_KEEP_M
            pen_obj = self.hand.hand_sdf(frames, self.object_points().expand(len(q), -1, -1)).amax(1)
        return (pen < PEN_KEEP_M) & (pen_obj < PEN_OBJECT_KEEP_M) & (low > -TABLE_KEEP_M) & pad_ok[:, 0] & (pad_ok.sum(1) >= 3)

    def _fit(self, rot0, trans0, q0, c_th, n_th, c_ff, n_ff, obj, hand_near=None, centre=None, gather=None):
        dt = self.hand.dtype
        m = q0.shape[0]
        q = q0.clone().requires_grad_(True)
        dx = torch.zeros(m, 3, dtype=dt, requires_grad=True)
        dw = torch.zeros(m, 3, dtype=dt, requires_grad=True)
        opt = torch.optim.Adam([{"params": [q], "lr": 0.03}, {"params": [dx], "lr": 0.002},
                                {"params": [dw], "lr": 0.03}])
        abduction = torch.as_tensor(ABDUCTION)
        for it in range(FIT_ITERATIONS + SETTLE_ITERATIONS):
            settle = it >= FIT_ITERATIONS
            opt.zero_grad()
            r = rotvec(dw) @ rot0
            t = trans0 + dx
            frames, _ = self.hand.link_frames(q, r, t)
            pts = self.hand.surface(frames)
            if hand_near is not None:
                pts = torch.gather(pts, 1, hand_near[..., None].expand(-1, -1, 3))
            pad_p, pad_n = self.hand.pads(q, r, t)
            w_target = TARGET_WEIGHT_SETTLE if settle else TARGET_WEIGHT
            miss = torch.stack([(pad_p[:, 0] - c_th).norm(dim=-1), (pad_p[:, 1] - c_ff).norm(dim=-1)], 1)
            target = w_target * (torch.relu(miss - TARGET_SLACK_M) ** 2).sum(1)
            opposition = OPPOSITION_WEIGHT * ((1 + (pad_n[:, 0] * n_th).sum(-1)) + (1 + (pad_n[:, 1] * n_ff).sum(-1)))
            phi_pad = self.sdf(pad_p[:, :3])
            surface = MIDDLE_WEIGHT * phi_pad[:, 2] ** 2 + 10 * torch.relu((pad_p[:, 2] - c_ff).norm(dim=-1) - 0.03) ** 2
            if settle:  # keep all three pads within reach of the surface while clearing penetration
                surface = surface + PAD_WEIGHT * (torch.relu(phi_pad.abs() - PAD_SLACK_M) ** 2).sum(1)
            w_pen = PEN_WEIGHT_SETTLE if settle else PEN_WEIGHT
            pen = w_pen * (torch.relu(self.sdf(pts) - PEN_MARGIN_M) ** 2).sum(1)
            pen_obj = w_pen * (torch.relu(self.hand.hand_sdf(frames, obj) - PEN_MARGIN_M) ** 2).sum(1)
            table = TABLE_WEIGHT * (torch.relu(TABLE_MARGIN_M - self.base._height(pts)) ** 2).sum(1)
            loss = target + opposition + surface + pen + pen_obj + table
            if gather is not None and bool(gather.any()):
                far = torch.relu((pad_p[:, 2:] - centre[:, None]).norm(dim=-1) - GATHER_RADIUS_M)
                on = self.sdf(pad_p[:, 3:]) ** 2
                lateral = ((pad_p - t[:, None]) @ r)[:, 1:, 0]  # wrist-frame x of ff, mf, rf, lf
                gap = lateral[:, :-1] - lateral[:, 1:]
                crowd = SEPARATION_WEIGHT * (torch.relu(SEPARATION_M - gap) ** 2).sum(1)
                loss = loss + gather * (GATHER_WEIGHT * (far**2).sum(1) + MIDDLE_WEIGHT * on.sum(1) + crowd
                                        + (GATHER_PEN_FACTOR - 1) * (pen + pen_obj))
            loss.sum().backward()
            # Spreading fingers is where they collide: abduction stays put except in gathered grasps.
            q.grad[:, abduction] *= (gather[:, None] if gather is not None else torch.zeros(m, 1, dtype=torch.bool)).to(dt)
            opt.step()
            with torch.no_grad():
                q.copy_(torch.maximum(torch.minimum(q, self.hand.upper), self.hand.lower))
        with torch.no_grad():
            return rotvec(dw) @ rot0, trans0 + dx, q.detach().clone()


def _empty() -> Candidates:
    empty = np.zeros((0,), dtype=int)
    return Candidates(np.zeros((0, 3, 3)), np.zeros((0, 3)), np.zeros((0, model.NUM_JOINTS)), empty, empty)

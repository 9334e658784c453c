"""The hand as the samplers see it: batched torch FK, surface samples grouped by finger, anchors.

Everything is expressed for the wrist (root link) frame at the identity, so a candidate grasp is
"these joints, then this rigid transform": the rigid part can then be searched cheaply.
"""

from __future__ import annotations

import numpy as np
import torch

from dextog_gym.hand import model
from dextog_gym.hand.fk_torch import TorchHandFK
from dextog_gym.hand.surface import sample_hand_surface
from dextog_gym.hand.urdf import parse_urdf

HAND_SAMPLE_SEED = 11
JOINT = {name: i for i, name in enumerate(model.JOINT_NAMES)}


def finger_of_link(link: str) -> str | None:
    return link[:2] if link[:2] in model.FINGERS else None


class HandBatch:
    """Shared, read-only hand data for batched sampling (float32; CPU unless ``device`` says otherwise).

    Every tensor lives on ``device``, so FK inside a model trained on a GPU never round-trips to the CPU.
    """

    def __init__(self, n_points: int = 1024, dtype: torch.dtype = torch.float32, device: str | torch.device = "cpu"):
        self.dtype = dtype
        self.device = torch.device(device)
        self.fk = TorchHandFK(dtype=dtype, device=self.device)
        names, index, points, _ = sample_hand_surface(n_points, np.random.default_rng(HAND_SAMPLE_SEED))
        self.link_names = names
        order = np.argsort(index, kind="stable")
        index, points = index[order], points[order]
        self.link_index = torch.as_tensor(index)
        self.points = torch.as_tensor(points, dtype=dtype)
        self._groups = [(int(i), self.points[index == i]) for i in np.unique(index)]
        # Finger of each surface sample (-1: palm, wrist, forearm).
        finger = [model.FINGERS.index(f) if (f := finger_of_link(n)) else -1 for n in names]
        self.sample_finger = torch.as_tensor(finger)[self.link_index]
        lower, upper = model.joint_limits()
        self.lower = torch.as_tensor(lower, dtype=dtype)
        self.upper = torch.as_tensor(upper, dtype=dtype)
        # Joints each finger moves while closing (indices into JOINT_NAMES).
        self.finger_joints = {
            f: [JOINT[n] for n in model.JOINT_NAMES if n.startswith(f.upper())] for f in model.FINGERS
        }
        # moved_links[j, l]: joint j moves link l (l is the joint's child or one of its descendants).
        robot = parse_urdf()
        children: dict[str, list[str]] = {}
        for j in robot.joints:
            children.setdefault(j.parent, []).append(j.child)

        def below(link: str) -> set[str]:
            out = {link}
            for c in children.get(link, []):
                out |= below(c)
            return out

        by_name = {j.name: j for j in robot.joints}
        self.moved_links = torch.tensor(
            [[link in below(by_name[name].child) for link in names] for name in model.JOINT_NAMES]
        )
        # Collision primitives (the capsules and boxes pybullet and the penetration metric use), per
        # link of ``link_names``: φ_H at object points in torch, for fits that keep object edges out.
        caps, boxes = [], []
        for li, name in enumerate(names):
            for g in robot.collisions.get(name, ()):
                (caps if g.kind == "capsule" else boxes).append((li, g))
        self.capsule_link = torch.as_tensor([li for li, _ in caps])
        self.capsule_origin = torch.as_tensor(np.stack([g.origin for _, g in caps]), dtype=dtype)
        self.capsule_radius = torch.as_tensor([g.radius for _, g in caps], dtype=dtype)
        self.capsule_half = torch.as_tensor([g.length / 2 for _, g in caps], dtype=dtype)
        self.box_link = torch.as_tensor([li for li, _ in boxes])
        self.box_origin = torch.as_tensor(np.stack([g.origin for _, g in boxes]), dtype=dtype)
        self.box_half = torch.as_tensor(np.array([g.size for _, g in boxes]) / 2, dtype=dtype)
        self.palm_center = torch.as_tensor(model.PALM_CENTER, dtype=dtype)
        self.palm_normal = torch.as_tensor(model.PALM_NORMAL, dtype=dtype)
        if self.device.type != "cpu":
            self._move(self.device)

    def _move(self, device: torch.device) -> None:
        """Put every tensor attribute (and the per-link sample groups) on ``device``."""
        for name, value in list(vars(self).items()):
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
        self._groups = [(link, pts.to(device)) for link, pts in self._groups]

    def link_frames(self, q: torch.Tensor, rot: torch.Tensor | None = None, trans: torch.Tensor | None = None):
        """Link transforms [B, L, 4, 4] (sample links only) for joints q[B,24] and a wrist pose."""
        b = q.shape[0]
        ident = torch.zeros(b, 4, dtype=self.dtype, device=self.device)
        ident[:, 0] = 1
        poses = self.fk(torch.zeros(b, 3, dtype=self.dtype, device=self.device), ident, q)
        frames = torch.stack([poses[n] for n in self.link_names], dim=1)
        palm = poses[model.PALM_LINK]
        if rot is not None:
            wrist = torch.zeros(b, 1, 4, 4, dtype=self.dtype, device=self.device)
            wrist[:, 0, :3, :3] = rot
            wrist[:, 0, :3, 3] = trans
            wrist[:, 0, 3, 3] = 1
            frames = wrist @ frames
            palm = wrist[:, 0] @ palm
        return frames, palm

    def surface(self, frames: torch.Tensor) -> torch.Tensor:
        """Hand surface samples [B, S, 3] from link frames [B, L, 4, 4].

        Samples are stored grouped by link, so each link is one batched matmul (gathering a
        4x4 per sample instead costs ~4x more, forward and backward).
        """
        parts = [
            pts @ frames[:, link, :3, :3].transpose(1, 2) + frames[:, link, None, :3, 3]
            for link, pts in self._groups
        ]
        return torch.cat(parts, dim=1)

    def pads(self, q: torch.Tensor, rot: torch.Tensor, trans: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad centres and outward normals [B, 5, 3] for the wrist pose (rot [B,3,3], trans [B,3])."""
        b = q.shape[0]
        ident = torch.zeros(b, 4, dtype=self.dtype, device=self.device)
        ident[:, 0] = 1
        p, n = self.fk.fingertip_pads(torch.zeros(b, 3, dtype=self.dtype, device=self.device), ident, q)
        return (rot[:, None] @ p[..., None]).squeeze(-1) + trans[:, None], (rot[:, None] @ n[..., None]).squeeze(-1)

    def palm(self, palm_frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Palm centre and outward palm normal [B, 3] from the palm link frame [B, 4, 4]."""
        rot, trans = palm_frame[:, :3, :3], palm_frame[:, :3, 3]
        return (rot @ self.palm_center) + trans, rot @ self.palm_normal

    def hand_sdf(self, frames: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """φ_H (positive inside the hand's capsules and boxes) at points x [B,K,3], frames [B,L,4,4].

        The torch twin of ``dextog_gym.metrics.hand_sdf`` (same primitives, same formulas), so a fit
        can push object points out of the hand with the quantity the penetration check measures.
        """
        cap = frames[:, self.capsule_link] @ self.capsule_origin  # [B,C,4,4]
        local = (x[:, None] - cap[:, :, None, :3, 3]) @ cap[:, :, :3, :3]  # [B,C,K,3]
        half = self.capsule_half[None, :, None]
        axial = local[..., 2] - torch.maximum(torch.minimum(local[..., 2], half), -half)
        dist = (local[..., 0] ** 2 + local[..., 1] ** 2 + axial**2 + 1e-12).sqrt()
        phi = (self.capsule_radius[None, :, None] - dist).amax(1)
        box = frames[:, self.box_link] @ self.box_origin
        local = (x[:, None] - box[:, :, None, :3, 3]) @ box[:, :, :3, :3]
        d = local.abs() - self.box_half[None, :, None]
        outside = (torch.relu(d) ** 2).sum(-1).add(1e-12).sqrt()
        inside = torch.clamp(d.amax(-1), max=0.0)
        return torch.maximum(phi, (-(outside + inside)).amax(1))

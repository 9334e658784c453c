"""Batched, differentiable forward kinematics of the hand in torch, read from the same URDF.

Grasp models (diffusion, NDPP guidance, penetration losses) need link poses for thousands of
candidate grasps at once and gradients through them; pybullet gives neither. The chain is walked
joint by joint in file order (parents first); each revolute joint is the fixed URDF origin followed
by a rotation about the joint axis (Rodrigues' formula, batched).

Import this module only where torch is wanted: ``dextog_gym.hand`` itself never imports it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from dextog_gym.hand import model
from dextog_gym.hand.urdf import parse_urdf


def quat_wxyz_to_matrix_torch(q: torch.Tensor) -> torch.Tensor:
    """[..., 4] (wxyz, normalised here) -> [..., 3, 3]."""
    q = q / q.norm(dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(*q.shape[:-1], 3, 3)


def _skew(axis: np.ndarray) -> np.ndarray:
    x, y, z = axis
    return np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])


def _axis_rotation(k: torch.Tensor, kk: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues: rotation about the unit axis with skew matrix ``k`` (``kk = k @ k``) -> [B, 3, 3]."""
    s = torch.sin(angle)[:, None, None]
    c = torch.cos(angle)[:, None, None]
    return torch.eye(3, dtype=k.dtype, device=k.device) + s * k + (1 - c) * kk


class TorchHandFK:
    """``forward(wrist_pos, wrist_quat_wxyz, q) -> {link: [B, 4, 4]}`` in the world frame."""

    def __init__(
        self,
        urdf_path: str | Path | None = None,
        dtype: torch.dtype = torch.float64,
        device: str | torch.device = "cpu",
    ) -> None:
        robot = parse_urdf(urdf_path)
        self.dtype, self.device = dtype, torch.device(device)
        self.root = robot.root
        self.link_names = list(robot.links)
        q_index = {name: i for i, name in enumerate(model.JOINT_NAMES)}
        as_t = lambda x: torch.as_tensor(x, dtype=dtype, device=self.device)  # noqa: E731
        # (child, parent, origin[4,4], (K, K@K) of the axis | None, index into q | None), parents first
        self._chain = []
        for j in robot.joints:
            if j.kind == "revolute":
                k = _skew(j.axis)
                axis = (as_t(k), as_t(k @ k))
                self._chain.append((j.child, j.parent, as_t(j.origin), axis, q_index[j.name]))
            elif j.kind == "fixed":
                self._chain.append((j.child, j.parent, as_t(j.origin), None, None))
            else:
                raise ValueError(f"unsupported joint type {j.kind} ({j.name})")
        pads = [(model.PAD_POINTS[f], model.PAD_NORMALS[f]) for f in model.FINGERS]
        self._pad_points = torch.as_tensor(np.stack([p for p, _ in pads]), dtype=dtype, device=self.device)
        self._pad_normals = torch.as_tensor(np.stack([n for _, n in pads]), dtype=dtype, device=self.device)

    def _check(self, wrist_pos, wrist_quat_wxyz, q) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        as_t = lambda x: torch.as_tensor(x, dtype=self.dtype, device=self.device)  # noqa: E731
        wrist_pos, wrist_quat_wxyz, q = as_t(wrist_pos), as_t(wrist_quat_wxyz), as_t(q)
        b = q.shape[0] if q.dim() == 2 else -1
        if (
            q.shape != (b, model.NUM_JOINTS)
            or wrist_pos.shape != (b, 3)
            or wrist_quat_wxyz.shape != (b, 4)
        ):
            raise ValueError(
                f"expected wrist_pos[B,3], wrist_quat_wxyz[B,4], q[B,{model.NUM_JOINTS}]; got "
                f"{tuple(wrist_pos.shape)}, {tuple(wrist_quat_wxyz.shape)}, {tuple(q.shape)}"
            )
        return wrist_pos, wrist_quat_wxyz, q

    def forward(
        self, wrist_pos: torch.Tensor, wrist_quat_wxyz: torch.Tensor, q: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """World transforms [B, 4, 4] of every URDF link frame (the root = the wrist pose)."""
        wrist_pos, wrist_quat_wxyz, q = self._check(wrist_pos, wrist_quat_wxyz, q)
        b = q.shape[0]
        root = torch.zeros(b, 4, 4, dtype=self.dtype, device=self.device)
        root[:, :3, :3] = quat_wxyz_to_matrix_torch(wrist_quat_wxyz)
        root[:, :3, 3] = wrist_pos
        root[:, 3, 3] = 1.0
        poses = {self.root: root}
        for child, parent, origin, axis, qi in self._chain:
            t = poses[parent] @ origin
            if axis is not None:
                rot = _axis_rotation(*axis, q[:, qi])
                # Append the joint rotation: only the rotation block changes, translation stays.
                t = torch.cat([torch.cat([t[:, :3, :3] @ rot, t[:, :3, 3:]], dim=2), t[:, 3:, :]], dim=1)
            poses[child] = t
        return poses

    __call__ = forward

    def fingertip_pads(
        self, wrist_pos: torch.Tensor, wrist_quat_wxyz: torch.Tensor, q: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pad centres [B, 5, 3] and outward unit normals [B, 5, 3] in world, fingers in FINGERS order."""
        poses = self.forward(wrist_pos, wrist_quat_wxyz, q)
        t = torch.stack([poses[model.DISTAL_LINK[f]] for f in model.FINGERS], dim=1)  # [B,5,4,4]
        rot, trans = t[..., :3, :3], t[..., :3, 3]
        points = trans + (rot @ self._pad_points[None, :, :, None]).squeeze(-1)
        normals = (rot @ self._pad_normals[None, :, :, None]).squeeze(-1)
        return points, normals

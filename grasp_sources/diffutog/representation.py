"""The 33-D grasp vector the diffusion model works in, and the way back to a ``Grasps`` row.

x = [r₁ (3), r₂ (3), t/POS_SCALE (3), q̃ (24)] (specs §3.1): the first two columns of the wrist
rotation (the continuous 6-D representation of Zhou et al.; quaternions have a double cover and a
seam that a denoiser would have to learn around), the wrist position scaled so the data fill
[-1, 1], and joints mapped linearly from their URDF limits onto [-1, 1]. Every coordinate of a
real grasp is then in [-1, 1], which is what the x̂₀ clip during sampling relies on.
Our hand has 24 joints (DexTOG's has 23), so the vector is 33-D rather than 32-D.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from dextog_gym.hand.model import NUM_JOINTS, joint_limits
from dextog_gym.hand.transforms import matrices_to_quats_wxyz, quat_wxyz_to_matrix

if TYPE_CHECKING:  # pragma: no cover
    import torch

# Wrist origins in the object frame reach 0.23 m from the object origin over every shipped raw
# grasp (27,590 grasps: max |x|, |y|, |z| = 0.199, 0.169, 0.229 m); 0.25 m maps them into [-1, 1].
POS_SCALE_M = 0.25
ROT_DIMS = slice(0, 6)
POS_DIMS = slice(6, 9)
JOINT_DIMS = slice(9, 9 + NUM_JOINTS)
GRASP_DIM = 9 + NUM_JOINTS


def _limits() -> tuple[np.ndarray, np.ndarray]:
    lower, upper = joint_limits()
    return np.asarray(lower, float), np.asarray(upper, float)


def encode(positions: np.ndarray, quats_wxyz: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """Grasps (object frame) -> x [N, 33] float32."""
    rot = np.stack([quat_wxyz_to_matrix(q) for q in np.asarray(quats_wxyz, float)]) if len(quats_wxyz) else \
        np.zeros((0, 3, 3))
    lower, upper = _limits()
    span = np.where(upper > lower, upper - lower, 1.0)
    q_norm = np.clip(2 * (np.asarray(joints, float) - lower) / span - 1, -1, 1)
    x = np.concatenate([rot[:, :, 0], rot[:, :, 1], np.asarray(positions, float) / POS_SCALE_M, q_norm], axis=1)
    return x.astype(np.float32)


def decode_numpy(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x [N, 33] -> (positions [N,3] m, quats_wxyz [N,4], joints [N,24] rad inside the limits)."""
    x = np.asarray(x, float)
    b1 = x[:, 0:3] / np.maximum(np.linalg.norm(x[:, 0:3], axis=1, keepdims=True), 1e-8)
    r2 = x[:, 3:6] - (b1 * x[:, 3:6]).sum(1, keepdims=True) * b1
    b2 = r2 / np.maximum(np.linalg.norm(r2, axis=1, keepdims=True), 1e-8)
    rot = np.stack([b1, b2, np.cross(b1, b2)], axis=2)
    lower, upper = _limits()
    q = lower + (np.clip(x[:, JOINT_DIMS], -1, 1) + 1) / 2 * (upper - lower)
    # The representation spans ±POS_SCALE_M; a raw vector outside it (noise, an untrained model) decodes
    # to the edge rather than to a wrist metres away, which Grasps would refuse.
    return np.clip(x[:, POS_DIMS], -1.0, 1.0) * POS_SCALE_M, matrices_to_quats_wxyz(rot), q


class TorchDecoder:
    """Differentiable x -> (rot [B,3,3], trans [B,3] m, q [B,24] rad) for FK inside the model."""

    def __init__(self, dtype: "torch.dtype", device: "torch.device | str" = "cpu") -> None:
        import torch

        lower, upper = _limits()
        self.lower = torch.as_tensor(lower, dtype=dtype, device=device)
        self.upper = torch.as_tensor(upper, dtype=dtype, device=device)

    def __call__(self, x: "torch.Tensor") -> tuple["torch.Tensor", "torch.Tensor", "torch.Tensor"]:
        import torch

        # Noisy samples may have tiny or parallel r₁, r₂: the eps keeps Gram–Schmidt finite.
        b1 = x[:, 0:3] / (x[:, 0:3].norm(dim=1, keepdim=True) + 1e-6)
        r2 = x[:, 3:6] - (b1 * x[:, 3:6]).sum(1, keepdim=True) * b1
        b2 = r2 / (r2.norm(dim=1, keepdim=True) + 1e-6)
        rot = torch.stack([b1, b2, torch.cross(b1, b2, dim=1)], dim=2)
        q = self.lower + (x[:, JOINT_DIMS].clamp(-1, 1) + 1) / 2 * (self.upper - self.lower)
        return rot, x[:, POS_DIMS] * POS_SCALE_M, q


class HandCloud:
    """Grasp vectors x [B, 33] -> hand surface samples [B, n, 3] in the object frame, scaled by POS_SCALE_M.

    The learned generators (DiffuTOG's denoiser, the baselines' FK losses and contact maps) all see a
    grasp as this cloud; the hand data is built once per device, on the device the model runs on.
    """

    def __init__(self, n_points: int) -> None:
        self.n_points = n_points
        self._hand = None
        self._decode: TorchDecoder | None = None

    def frames(self, x: "torch.Tensor") -> "torch.Tensor":
        """Link frames [B, L, 4, 4] (metres) of grasp vectors x."""
        import torch

        if self._hand is None or self._hand.device != x.device:
            from dextog_gym.hand.batch import HandBatch

            self._hand = HandBatch(n_points=self.n_points, dtype=torch.float32, device=x.device)
            self._decode = TorchDecoder(torch.float32, x.device)
        rot, trans, q = self._decode(x.float())
        return self._hand.link_frames(q, rot, trans)[0]

    @property
    def hand(self):
        return self._hand

    def __call__(self, x: "torch.Tensor") -> "torch.Tensor":
        frames = self.frames(x)
        return self._hand.surface(frames) / POS_SCALE_M

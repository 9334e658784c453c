"""Small batched rotation helpers for the samplers (torch)."""

from __future__ import annotations

import numpy as np
import torch


def unit(v: torch.Tensor) -> torch.Tensor:
    return v / v.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def skew(v: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros_like(v[..., 0])
    x, y, z = v.unbind(-1)
    return torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*v.shape[:-1], 3, 3)


def axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues for unit axes [B,3] and angles [B] -> [B,3,3]."""
    k = skew(axis)
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    eye = torch.eye(3, dtype=axis.dtype).expand_as(k)
    return eye + s * k + (1 - c) * (k @ k)


def rotvec(w: torch.Tensor) -> torch.Tensor:
    """Rotation vectors [B,3] -> matrices [B,3,3] (differentiable, safe at 0)."""
    angle = w.norm(dim=-1)
    k = skew(w / angle.clamp_min(1e-9)[:, None])
    s, c = torch.sin(angle)[:, None, None], torch.cos(angle)[:, None, None]
    return torch.eye(3, dtype=w.dtype).expand_as(k) + s * k + (1 - c) * (k @ k)


def align(u: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """The smallest rotation taking unit vectors u [B,3] onto unit vectors a [B,3]."""
    axis = torch.cross(u, a, dim=-1)
    sin = axis.norm(dim=-1)
    cos = (u * a).sum(-1)
    # Antiparallel: turn half a circle about any axis perpendicular to u.
    fallback = torch.cross(u, torch.tensor([1.0, 0.0, 0.0], dtype=u.dtype).expand_as(u), dim=-1)
    fallback = torch.where(fallback.norm(dim=-1, keepdim=True) < 1e-3,
                           torch.cross(u, torch.tensor([0.0, 1.0, 0.0], dtype=u.dtype).expand_as(u), dim=-1),
                           fallback)
    axis = torch.where((sin < 1e-6)[:, None], fallback, axis)
    return axis_angle(unit(axis), torch.atan2(sin, cos))


def random_cone(center: np.ndarray, half_angle: float, rng: np.random.Generator) -> np.ndarray:
    """Unit vectors drawn uniformly (by solid angle) within ``half_angle`` of ``center`` [B,3]."""
    b = len(center)
    cos_t = rng.uniform(np.cos(half_angle), 1.0, b)
    sin_t = np.sqrt(1 - cos_t**2)
    phi = rng.uniform(0, 2 * np.pi, b)
    helper = np.where(np.abs(center[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    e1 = np.cross(center, helper)
    e1 /= np.linalg.norm(e1, axis=1, keepdims=True)
    e2 = np.cross(center, e1)
    return cos_t[:, None] * center + sin_t[:, None] * (np.cos(phi)[:, None] * e1 + np.sin(phi)[:, None] * e2)

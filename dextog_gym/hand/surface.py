"""Points on the hand's collision surface, in link frames, for penetration metrics and grasp models.

Sampled from the same capsules and boxes pybullet collides with (read from the URDF), uniformly
by area, so a point-cloud penetration test measures what the simulator would feel. Points are
drawn once in link frames and then moved with any set of link poses (numpy dict from pybullet,
or torch FK output for batches and gradients). Note: where primitives of one link or of adjacent
links overlap (e.g. a proximal capsule's base inside the palm box), some points lie inside the hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dextog_gym.hand.transforms import quat_wxyz_to_matrix
from dextog_gym.hand.urdf import Geom, parse_urdf

if TYPE_CHECKING:  # pragma: no cover
    import torch


def geom_area(g: Geom) -> float:
    if g.kind == "capsule":
        return 2 * np.pi * g.radius * g.length + 4 * np.pi * g.radius**2
    sx, sy, sz = g.size
    return 2 * (sx * sy + sy * sz + sz * sx)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sample_capsule(g: Geom, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Capsule along its local z, cylinder |z| <= length/2, hemispherical caps beyond."""
    r, half = g.radius, g.length / 2
    side = 2 * np.pi * r * g.length
    on_side = rng.random(n) < side / (side + 4 * np.pi * r**2)
    normals = np.zeros((n, 3))
    points = np.zeros((n, 3))
    phi = rng.uniform(0, 2 * np.pi, n)
    normals[on_side] = np.stack([np.cos(phi), np.sin(phi), np.zeros(n)], axis=1)[on_side]
    points[on_side] = r * normals[on_side]
    points[on_side, 2] = rng.uniform(-half, half, n)[on_side]
    caps = ~on_side
    d = _unit(rng.normal(size=(n, 3)))[caps]  # uniform on the sphere, split into the two caps
    normals[caps] = d
    points[caps] = r * d + np.sign(d[:, 2:3]) * np.array([0.0, 0.0, half])
    return points, normals


def _sample_box(g: Geom, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    half = np.asarray(g.size) / 2
    face_area = np.array([half[1] * half[2], half[0] * half[2], half[0] * half[1]])
    axis = rng.choice(3, size=n, p=face_area / face_area.sum())
    sign = rng.choice([-1.0, 1.0], size=n)
    points = rng.uniform(-half, half, size=(n, 3))
    points[np.arange(n), axis] = sign * half[axis]
    normals = np.zeros((n, 3))
    normals[np.arange(n), axis] = sign
    return points, normals


def sample_hand_surface(
    n_points: int, rng: np.random.Generator, urdf_path: str | Path | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Sample ``n_points`` area-uniformly on the collision geometry.

    Returns ``(link_names, link_index[N], points[N, 3], normals[N, 3])``: points and outward unit
    normals in the frame of link ``link_names[link_index[i]]``. Same ``rng`` state -> same samples.
    """
    if n_points < 1:
        raise ValueError(f"n_points must be positive, got {n_points}")
    robot = parse_urdf(urdf_path)
    geoms = [(link, g) for link in robot.links for g in robot.collisions.get(link, ())]
    link_names = sorted({link for link, _ in geoms}, key=robot.links.index)
    areas = np.array([geom_area(g) for _, g in geoms])
    counts = rng.multinomial(n_points, areas / areas.sum())
    idx, pts, nrm = [], [], []
    for (link, g), k in zip(geoms, counts):
        if k == 0:
            continue
        p, n = (_sample_capsule if g.kind == "capsule" else _sample_box)(g, int(k), rng)
        rot, trans = g.origin[:3, :3], g.origin[:3, 3]
        pts.append(p @ rot.T + trans)
        nrm.append(n @ rot.T)
        idx.append(np.full(k, link_names.index(link)))
    return link_names, np.concatenate(idx), np.concatenate(pts), np.concatenate(nrm)


def surface_to_world(
    link_names: list[str],
    link_index: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    link_poses: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Move link-frame samples to world with ``{link: (pos[3], quat_wxyz[4])}`` (e.g. ShadowHand.link_poses())."""
    rots = np.stack([quat_wxyz_to_matrix(link_poses[n][1]) for n in link_names])
    trans = np.stack([np.asarray(link_poses[n][0], dtype=float) for n in link_names])
    r = rots[link_index]
    world_points = np.einsum("nij,nj->ni", r, points) + trans[link_index]
    return world_points, np.einsum("nij,nj->ni", r, normals)


def surface_to_world_torch(
    link_names: list[str],
    link_index: np.ndarray,
    points: np.ndarray,
    normals: np.ndarray,
    fk_poses: dict[str, "torch.Tensor"],
) -> tuple["torch.Tensor", "torch.Tensor"]:
    """Batched version with TorchHandFK output ``{link: [B, 4, 4]}`` -> points, normals [B, N, 3]."""
    import torch

    t = torch.stack([fk_poses[n] for n in link_names], dim=1)[:, torch.as_tensor(link_index)]  # [B,N,4,4]
    p = torch.as_tensor(points, dtype=t.dtype, device=t.device)
    n = torch.as_tensor(normals, dtype=t.dtype, device=t.device)
    rot = t[..., :3, :3]
    world_points = (rot @ p[None, :, :, None]).squeeze(-1) + t[..., :3, 3]
    return world_points, (rot @ n[None, :, :, None]).squeeze(-1)

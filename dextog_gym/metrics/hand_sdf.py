"""Analytic signed distance of the hand's collision primitives (positive inside), numpy only.

The penetration term max_o [φ_H(o)]₊ of specs §1.5 needs φ_H at ~2000 object points for
thousands of grasps. The hand collides through capsules and boxes only (read from the same URDF
pybullet loads), so φ_H is exact and cheap in closed form: no mesh SDF, no pybullet queries.
φ_H is the maximum over primitives; that is exact inside the union and, outside it, minus the
distance to the nearest primitive, i.e. the true distance to the hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

import numpy as np
from numpy.typing import ArrayLike

from dextog_gym.hand.transforms import pose_to_matrix
from dextog_gym.hand.urdf import parse_urdf


def transforms_from_link_poses(
    link_poses: Mapping[str, tuple[ArrayLike, ArrayLike]],
) -> dict[str, np.ndarray]:
    """``{link: (pos[3], quat_wxyz[4])}`` (e.g. ``ShadowHand.link_poses()``) → ``{link: 4x4}``."""
    return {name: pose_to_matrix(pos, quat) for name, (pos, quat) in link_poses.items()}


def capsule_sdf(points: np.ndarray, radius: float, half_length: float) -> np.ndarray:
    """Capsule along local z between z = ±half_length, points in its frame; positive inside."""
    z = np.clip(points[..., 2], -half_length, half_length)
    axial = points[..., 2] - z
    return radius - np.sqrt(points[..., 0] ** 2 + points[..., 1] ** 2 + axial**2)


def box_sdf(points: np.ndarray, half_extents: np.ndarray) -> np.ndarray:
    """Exact box SDF (centred, axis-aligned in its frame), positive inside."""
    q = np.abs(points) - half_extents
    outside = np.linalg.norm(np.maximum(q, 0.0), axis=-1)
    inside = np.minimum(q.max(axis=-1), 0.0)
    return -(outside + inside)


class HandCollisionModel:
    """The hand's capsules and boxes per link, with φ_H for single and batched hand poses."""

    def __init__(self, urdf_path: str | Path | None = None) -> None:
        robot = parse_urdf(urdf_path)
        self.link_names: list[str] = [name for name in robot.links if robot.collisions.get(name)]
        link_of, kinds, origins, params = [], [], [], []
        for i, name in enumerate(self.link_names):
            for g in robot.collisions[name]:
                link_of.append(i)
                kinds.append(g.kind)
                origins.append(np.asarray(g.origin, dtype=float))
                if g.kind == "capsule":
                    params.append(np.array([g.radius, g.length / 2, 0.0]))
                elif g.kind == "box":
                    params.append(np.asarray(g.size, dtype=float) / 2)
                else:  # pragma: no cover - the URDF parser only returns capsules and boxes
                    raise ValueError(f"unsupported collision primitive {g.kind!r} on {name}")
        self.geom_link = np.array(link_of, dtype=int)  # primitive -> index into link_names
        self.geom_kind: list[str] = kinds
        self.geom_origin = np.stack(origins)  # [P, 4, 4], primitive frame in its link frame
        self.geom_params = np.stack(params)  # capsule: (radius, half length, 0); box: half extents

    @property
    def num_geoms(self) -> int:
        return len(self.geom_kind)

    def stack_transforms(self, link_transforms: Mapping[str, ArrayLike]) -> np.ndarray:
        """``{link: 4x4}`` → ``[L, 4, 4]`` in ``link_names`` order (all collision links required)."""
        missing = [n for n in self.link_names if n not in link_transforms]
        if missing:
            raise KeyError(f"link transforms lack collision links {missing}")
        return np.stack([np.asarray(link_transforms[n], dtype=float) for n in self.link_names])

    def signed_distance(
        self, points: ArrayLike, link_transforms: Mapping[str, ArrayLike]
    ) -> np.ndarray:
        """φ_H ``[N]`` (positive inside) at world ``points[N, 3]`` for one pose ``{link: world 4x4}``."""
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != 3:
            raise ValueError(f"points must have shape [N, 3], got {pts.shape}")
        stacked = self.stack_transforms(link_transforms)
        return self.signed_distance_batch(pts[None], stacked[None])[0]

    def signed_distance_batch(self, points: ArrayLike, transforms: ArrayLike) -> np.ndarray:
        """φ_H for B hand poses at once: ``points[B, N, 3]``, ``transforms[B, L, 4, 4]`` → ``[B, N]``.

        ``transforms`` are world link frames stacked in ``link_names`` order (e.g. stacked
        TorchHandFK output). Loops over the ~20 primitives, vectorised over B×N, so memory stays
        O(B·N) however many primitives the hand has.
        """
        pts = np.asarray(points, dtype=float)
        tf = np.asarray(transforms, dtype=float)
        if pts.ndim != 3 or pts.shape[2] != 3:
            raise ValueError(f"points must have shape [B, N, 3], got {pts.shape}")
        expected = (pts.shape[0], len(self.link_names), 4, 4)
        if tf.shape != expected:
            raise ValueError(f"transforms must have shape {expected} (link_names order), got {tf.shape}")
        out = np.full(pts.shape[:2], -np.inf)
        for g in range(self.num_geoms):
            world = tf[:, self.geom_link[g]] @ self.geom_origin[g]  # [B, 4, 4] primitive frames
            rot, trans = world[:, :3, :3], world[:, :3, 3]
            # Points into the primitive frame: R^T (p - t), written as (p - t) R per batch entry.
            local = (pts - trans[:, None, :]) @ rot
            if self.geom_kind[g] == "capsule":
                radius, half, _ = self.geom_params[g]
                phi = capsule_sdf(local, radius, half)
            else:
                phi = box_sdf(local, self.geom_params[g])
            np.maximum(out, phi, out=out)
        return out

    def penetration(self, points: ArrayLike, link_transforms: Mapping[str, ArrayLike]) -> float:
        """max_o [φ_H(o)]₊ over object ``points[N, 3]`` (metres): the hand-side term of §1.5."""
        phi = self.signed_distance(points, link_transforms)
        return float(max(0.0, phi.max())) if phi.size else 0.0

"""Ferrari–Canny Q1 (specs/algorithms.md §1.2–1.4), the UniDexGrasp recipe.

Q1 is the radius of the largest origin-centred ball inside the convex hull of the contact
wrenches: the smallest disturbance wrench (force, torque/L) that the grasp can no longer resist
with unit normal forces. The recipe is fixed (μ = 1, 8 edges, λ_τ = 10 m⁻¹, o fixed per object)
so that numbers are comparable with the published ones; the unit tests pin it to §1.7.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# Rows that differ by less than this (in wrench units) count as duplicates: Qhull chokes on
# coincident points, and contacts from neighbouring links often coincide.
_DEDUP_DECIMALS = 12


def _as_points(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 1 and arr.size == 0:
        arr = arr.reshape(0, 3)
    if arr.ndim != 2 or arr.shape[1] != 3:
        raise ValueError(f"{name} must have shape [K, 3], got {arr.shape}")
    return arr


def _tangent_basis(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row tangents (u, v) of unit axes d[K,3]: u = normalise(d × a), v = d × u.

    a = e_x unless d is nearly parallel to it (|d·e_x| > 0.9), then e_y: the spec fixes this
    choice because it sets the pyramid's orientation, which changes Q1 in the third digit.
    """
    a = np.zeros_like(d)
    near_x = np.abs(d[:, 0]) > 0.9
    a[~near_x, 0] = 1.0
    a[near_x, 1] = 1.0
    u = np.cross(d, a)
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    return u, np.cross(d, u)


def friction_cone_wrenches(
    points: ArrayLike,
    normals: ArrayLike,
    origin: ArrayLike,
    mu: float = 1.0,
    num_edges: int = 8,
    torque_scale: float = 10.0,
) -> np.ndarray:
    """Edge wrenches of the linearised friction cones: ``[K * num_edges, 6]`` rows [f ; λ_τ (c − o) × f].

    ``normals`` are the OUTWARD object normals at the contacts, so each force pushes along d = −n.
    Edges are d + μ(cos θ u + sin θ v), deliberately not normalised (unit normal component).
    Rows are grouped by contact: rows ``k*num_edges .. (k+1)*num_edges - 1`` belong to contact k.
    """
    c = _as_points(points, "points")
    n = _as_points(normals, "normals")
    if c.shape != n.shape:
        raise ValueError(f"points {c.shape} and normals {n.shape} differ in shape")
    if num_edges < 1:
        raise ValueError(f"num_edges must be positive, got {num_edges}")
    o = np.asarray(origin, dtype=float).reshape(3)
    if len(c) == 0:
        return np.zeros((0, 6))
    norm = np.linalg.norm(n, axis=1, keepdims=True)
    if np.any(norm < 1e-12) or not np.all(np.isfinite(n)):
        raise ValueError("normals must be finite and non-zero")
    d = -n / norm
    u, v = _tangent_basis(d)
    theta = 2.0 * np.pi * np.arange(num_edges) / num_edges
    f = d[:, None, :] + mu * (
        np.cos(theta)[None, :, None] * u[:, None, :] + np.sin(theta)[None, :, None] * v[:, None, :]
    )  # [K, m, 3]
    torque = torque_scale * np.cross((c - o)[:, None, :], f)
    return np.concatenate([f, torque], axis=2).reshape(-1, 6)


def _unique_rows(w: np.ndarray) -> np.ndarray:
    """Drop (near-)duplicate rows, keeping first occurrences in their original order."""
    _, first = np.unique(np.round(w, _DEDUP_DECIMALS), axis=0, return_index=True)
    return w[np.sort(first)]


def q1_from_wrenches(wrenches: ArrayLike, max_wrenches: int = 1023) -> float:
    """Q1 of a wrench set (the origin is added here); 0 for degenerate sets, capped at 1.

    Subsampling (only above ``max_wrenches`` rows, origin included) takes evenly spaced rows, so
    the result is deterministic and every contact keeps about the same share of its edges.
    """
    from scipy.spatial import ConvexHull, QhullError

    if max_wrenches < 8:
        raise ValueError(f"max_wrenches must be at least 8, got {max_wrenches}")
    w = np.asarray(wrenches, dtype=float).reshape(-1, 6)
    if len(w) == 0 or not np.all(np.isfinite(w)):
        return 0.0
    w = _unique_rows(w)
    w = w[np.linalg.norm(w, axis=1) > 10.0 ** (-_DEDUP_DECIMALS)]  # the origin goes in once, below
    if len(w) + 1 > max_wrenches:
        keep = np.unique(np.linspace(0, len(w) - 1, max_wrenches - 1).round().astype(int))
        w = w[keep]
    pts = np.vstack([w, np.zeros((1, 6))])
    if len(pts) < 7:  # a 6-D hull needs at least 7 affinely independent points
        return 0.0
    try:
        hull = ConvexHull(pts)
    except (QhullError, ValueError):
        return 0.0
    eq = hull.equations  # rows [a_j, b_j] with a_j·w + b_j <= 0 inside
    dist = np.abs(eq[:, -1]) / np.linalg.norm(eq[:, :-1], axis=1)
    if not np.all(np.isfinite(dist)):
        return 0.0
    return float(min(1.0, dist.min()))


def q1_from_contacts(
    points: ArrayLike,
    normals: ArrayLike,
    origin: ArrayLike,
    mu: float = 1.0,
    num_edges: int = 8,
    torque_scale: float = 10.0,
    max_wrenches: int = 1023,
) -> float:
    """Ferrari–Canny Q1 of point contacts with friction; 0.0 without contacts or when degenerate.

    ``origin`` is the torque reference o (the object-frame origin, fixed per object): Q1 depends
    on it, so compare numbers only with the same o.
    """
    w = friction_cone_wrenches(points, normals, origin, mu, num_edges, torque_scale)
    if len(w) == 0:
        return 0.0
    return q1_from_wrenches(w, max_wrenches=max_wrenches)

"""Convex building blocks for procedural objects, and deterministic mesh files.

Every link of a generated object is a list of convex parts: Bullet collides a mesh as
its convex hull, so convex parts collide exactly with no decomposition step. The union
of a link's parts (via manifold3d) is a single watertight mesh used for pictures and for
signed distances.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import trimesh

# Rounding of written vertices: 1 µm is far below any contact tolerance and makes files
# byte-identical from one build to the next.
VERTEX_DECIMALS = 6


def _hull(points: np.ndarray) -> trimesh.Trimesh:
    mesh = trimesh.convex.convex_hull(np.round(np.asarray(points, dtype=float), VERTEX_DECIMALS))
    mesh.fix_normals()
    return mesh


def box(extents: Sequence[float], centre: Sequence[float] = (0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    """Axis-aligned box with full ``extents`` (x, y, z) centred at ``centre``."""
    half = np.asarray(extents, dtype=float) / 2.0
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return _hull(corners * half + np.asarray(centre, dtype=float))


def _polygon(radius: float, sides: int, phase: float) -> np.ndarray:
    angles = phase + 2.0 * np.pi * np.arange(sides) / sides
    return np.stack([radius * np.cos(angles), radius * np.sin(angles)], axis=1)


def _axis_frame(axis: str) -> np.ndarray:
    """Columns (u, v, w): w along ``axis``, (u, v) spanning the cross-section."""
    columns = {
        "x": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 0.0, 0.0)),
        "y": ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)),
        "z": ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    }
    frames = {name: np.column_stack(cols) for name, cols in columns.items()}
    return frames[axis]


def frustum(
    radius_start: float,
    radius_end: float,
    length: float,
    start: Sequence[float] = (0.0, 0.0, 0.0),
    axis: str = "z",
    sides: int = 24,
    phase: float = 0.0,
) -> trimesh.Trimesh:
    """Prism/frustum with a regular polygon section, from ``start`` along +``axis``.

    With equal radii it is a prism (a cylinder when ``sides`` is large); ``phase`` turns
    the polygon so that, e.g., a hexagonal pen lies on a flat face.
    """
    frame = _axis_frame(axis)
    ring0 = _polygon(radius_start, sides, phase)
    ring1 = _polygon(radius_end, sides, phase)
    local0 = np.column_stack([ring0, np.zeros(sides)])
    local1 = np.column_stack([ring1, np.full(sides, length)])
    points = np.vstack([local0, local1]) @ frame.T + np.asarray(start, dtype=float)
    return _hull(points)


def cylinder(radius: float, length: float, start: Sequence[float], axis: str = "z", sides: int = 24,
             phase: float = 0.0) -> trimesh.Trimesh:
    return frustum(radius, radius, length, start, axis, sides, phase)


def hull(points: Sequence[Sequence[float]]) -> trimesh.Trimesh:
    """Convex hull of explicit points (wedges, tapered noses)."""
    return _hull(np.asarray(points, dtype=float))


def eroded(part: trimesh.Trimesh, margin: float) -> trimesh.Trimesh:
    """Shrink a convex part by ``margin``: every face plane moves inward.

    Bullet pads every convex mesh with a collision margin (~1 mm, not settable for URDF
    meshes). Colliding with the eroded hull makes the padded shape match the true one
    (edges come out rounded by the margin), so objects rest on the table and meet
    fingertips where their meshes say, not 1 mm early.
    """
    from scipy.spatial import HalfspaceIntersection

    # trimesh facets merge coplanar triangles; one plane per triangle is also fine.
    normals = np.asarray(part.face_normals)
    offsets = -np.einsum("ij,ij->i", normals, part.triangles[:, 0, :])
    halfspaces = np.column_stack([normals, offsets + margin])
    inner = HalfspaceIntersection(halfspaces, np.asarray(part.centroid, dtype=float))
    return _hull(inner.intersections)


def union(parts: Sequence[trimesh.Trimesh]) -> trimesh.Trimesh:
    """Watertight union of convex parts (manifold3d), rounded for reproducible files."""
    if len(parts) == 1:
        merged = parts[0].copy()
    else:
        merged = trimesh.boolean.union(list(parts), engine="manifold")
    merged = trimesh.Trimesh(np.round(merged.vertices, VERTEX_DECIMALS), merged.faces, process=True)
    merged.merge_vertices()
    merged.fix_normals()
    return merged


def obj_text(mesh: trimesh.Trimesh) -> str:
    """Minimal Wavefront OBJ with fixed float formatting (our own writer: stable bytes)."""
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in np.asarray(mesh.vertices)]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in np.asarray(mesh.faces)]
    return "\n".join(lines) + "\n"


def write_obj(mesh: trimesh.Trimesh, path: Path) -> None:
    path.write_text(obj_text(mesh))


def sample_face_points(
    rng: np.random.Generator,
    n: int,
    centre: Sequence[float],
    half_u: Sequence[float],
    half_v: Sequence[float],
) -> np.ndarray:
    """``n`` uniform points on the rectangle centre ± half_u ± half_v (part surfaces)."""
    su = rng.uniform(-1.0, 1.0, size=(n, 1))
    sv = rng.uniform(-1.0, 1.0, size=(n, 1))
    return np.asarray(centre) + su * np.asarray(half_u) + sv * np.asarray(half_v)


def sample_disc_points(
    rng: np.random.Generator, n: int, centre: Sequence[float], radius: float, axis: str
) -> np.ndarray:
    """``n`` uniform points on a disc of ``radius`` normal to ``axis`` (button faces)."""
    r = radius * np.sqrt(rng.uniform(0.0, 1.0, size=n))
    a = rng.uniform(0.0, 2.0 * np.pi, size=n)
    frame = _axis_frame(axis)
    local = np.column_stack([r * np.cos(a), r * np.sin(a), np.zeros(n)])
    return local @ frame.T + np.asarray(centre, dtype=float)

"""An object's rest geometry in its own frame: dense surface samples, signed distance, parts, table.

Grasps are stored in the object frame at rest (every joint at 0), so samplers, rule filters and
metrics all need the same picture of the object there. Signed distance (positive inside) comes from
a KD-tree over dense, area-uniform surface samples: near the surface the distance to the nearest
sample's tangent plane (exact on faces, sub-millimetre at our sample spacing), farther away the
distance to the sample itself; the sign is the side of that tangent plane. This works for any mesh
a user brings (no watertightness needed) and costs ~1 s per object, where trimesh's exact
``signed_distance`` on a 64³ grid takes minutes. A regular grid of the same function, trilinearly
interpolated in torch, gives the samplers a fast differentiable φ_O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from dextog_gym.hand.transforms import quat_wxyz_to_matrix
from dextog_gym.objects.catalog import ObjectAsset
from dextog_gym.objects.kinematics import link_transforms, read_object_urdf

if TYPE_CHECKING:  # pragma: no cover
    import torch

SAMPLE_SPACING_M = 0.0008  # target spacing of the dense surface samples
MAX_SURFACE_SAMPLES = 400_000
PLANE_DISTANCE_RANGE_M = 0.004  # within this of a sample, use its tangent plane
GRID_VOXEL_M = 0.002
GRID_PAD_M = 0.03
GRID_MAX_CELLS = 160
GRID_FAR_M = 0.02  # grid values saturate here: samplers only look closer
SHAPE_SEED = 0  # surface samples are a fixed function of the object


@dataclass
class ObjectShape:
    """Rest geometry of one object; build with :func:`object_shape` (cached per object)."""

    object_id: str
    category: str
    points: np.ndarray  # [S, 3] dense surface samples, object frame
    normals: np.ndarray  # [S, 3] outward unit normals
    link_of_point: np.ndarray  # [S] index into link_names
    link_names: list[str]
    parts: dict[str, tuple[np.ndarray, np.ndarray | None]]  # name -> (points [P,3], normal [3] | None), object frame
    world_from_object: np.ndarray  # 4x4 resting pose (yaw 0) — gives the table plane
    mass_kg: float
    tree: cKDTree = field(repr=False)
    _grid: tuple | None = field(default=None, repr=False)

    # --- signed distance (numpy, exact enough for metrics) ----------------------------------
    def nearest(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(signed distance [N] positive inside, closest surface point [N,3], outward normal [N,3])."""
        x = np.asarray(x, dtype=float).reshape(-1, 3)
        dist, idx = self.tree.query(x, workers=1)
        p, n = self.points[idx], self.normals[idx]
        plane = np.einsum("ij,ij->i", p - x, n)  # > 0 when x is behind the tangent plane (inside)
        sd = np.where(dist < PLANE_DISTANCE_RANGE_M, plane, np.sign(plane) * dist)
        closest = x + plane[:, None] * n
        closest = np.where((dist < PLANE_DISTANCE_RANGE_M)[:, None], closest, p)
        return sd, closest, n

    def signed_distance(self, x: np.ndarray) -> np.ndarray:
        return self.nearest(x)[0]

    def _bounded_signed_distance(self, x: np.ndarray) -> np.ndarray:
        """φ_O exact within GRID_FAR_M of the surface, ±GRID_FAR_M beyond (the grid's use).

        Far queries dominate a KD-tree's cost; their sign comes from a sparse copy of the samples.
        """
        dist, idx = self.tree.query(x, distance_upper_bound=GRID_FAR_M, workers=1)
        out = np.empty(len(x))
        near = np.isfinite(dist)
        out[near] = self.nearest(x[near])[0]
        far = ~near
        sparse = slice(None, None, 37)
        _, j = cKDTree(self.points[sparse]).query(x[far], workers=1)
        side = np.einsum("ij,ij->i", self.points[sparse][j] - x[far], self.normals[sparse][j])
        out[far] = np.where(side > 0, GRID_FAR_M, -GRID_FAR_M)
        return out

    # --- table -----------------------------------------------------------------------------
    def height_above_table(self, x: np.ndarray) -> np.ndarray:
        """World height of object-frame points with the object in its resting pose."""
        x = np.asarray(x, dtype=float)
        return x @ self.world_from_object[2, :3] + self.world_from_object[2, 3]

    # --- grid (torch, differentiable) ------------------------------------------------------
    def grid(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values [X,Y,Z], lower corner [3], voxel size [3]) of φ_O on a regular grid."""
        if self._grid is None:
            lo = self.points.min(axis=0) - GRID_PAD_M
            hi = self.points.max(axis=0) + GRID_PAD_M
            cells = np.clip(np.ceil((hi - lo) / GRID_VOXEL_M).astype(int) + 1, 8, GRID_MAX_CELLS)
            axes = [np.linspace(lo[i], hi[i], cells[i]) for i in range(3)]
            mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
            values = self._bounded_signed_distance(mesh).reshape(*cells)
            self._grid = (values.astype(np.float32), lo, (hi - lo) / (cells - 1))
        return self._grid

    def torch_sdf(self, dtype=None, device="cpu", exact: bool = False) -> "GridSDF | NearestSDF":
        """Differentiable φ_O: the 2 mm grid (fast, blurred, ±2 cm) or, ``exact``, the metric's own φ_O."""
        if exact:
            return NearestSDF(self, dtype=dtype, device=device)
        return GridSDF(*self.grid(), dtype=dtype, device=device)


class NearestSDF:
    """The metric's φ_O (``ObjectShape.nearest``) for torch points, differentiable in the points.

    Within ``GRID_FAR_M`` of the surface each call asks the KD-tree for the nearest surface sample
    (no gradient) and returns the tangent-plane distance (p − x)·n, or sign·‖p − x‖ beyond
    ``PLANE_DISTANCE_RANGE_M``, as torch expressions of x: the metric's value to float precision,
    with the surface normal as gradient. Farther points take the grid's value (only its sign and
    direction matter there). The 2 mm grid alone blurs parts thinner than a few voxels (pens,
    trigger blades): it agrees with the metric's sign on 98.5–99.6 % of points within 6 mm of the
    surface, this on all of them.
    """

    def __init__(self, shape: "ObjectShape", dtype=None, device="cpu"):
        import torch

        self.shape = shape
        self.grid = GridSDF(*shape.grid(), dtype=dtype, device=device)
        self.points = torch.as_tensor(shape.points, dtype=self.grid.values.dtype, device=device)
        self.normals = torch.as_tensor(shape.normals, dtype=self.grid.values.dtype, device=device)

    def normals_at(self, x: "torch.Tensor") -> "torch.Tensor":
        """Outward normals [..., 3] of the surface samples nearest to x (constants: no gradient)."""
        import torch

        _, idx = self.shape.tree.query(x.detach().reshape(-1, 3).cpu().double().numpy(), workers=1)
        return self.normals[torch.as_tensor(idx, device=x.device)].reshape(x.shape)

    def __call__(self, x: "torch.Tensor") -> "torch.Tensor":
        import torch

        flat = x.reshape(-1, 3)
        dist, idx = self.shape.tree.query(flat.detach().cpu().double().numpy(), distance_upper_bound=GRID_FAR_M,
                                          workers=1)
        band = np.isfinite(dist)
        out = self.grid(flat)
        if band.any():
            rows = torch.as_tensor(np.flatnonzero(band), device=flat.device)
            xb = flat[rows]
            nearest = torch.as_tensor(idx[band], device=flat.device)
            p, n = self.points[nearest], self.normals[nearest]
            plane = ((p - xb) * n).sum(-1)
            on_plane = torch.as_tensor(dist[band] < PLANE_DISTANCE_RANGE_M, device=flat.device)
            value = torch.where(on_plane, plane, torch.sign(plane.detach()) * (p - xb).norm(dim=-1))
            out = out.index_put((rows,), value)
        return out.reshape(x.shape[:-1])


class GridSDF:
    """Trilinear φ_O(x) for torch points [..., 3]; outside the grid, distance grows linearly."""

    def __init__(self, values: np.ndarray, lower: np.ndarray, voxel: np.ndarray, dtype=None, device="cpu"):
        import torch

        dtype = dtype or torch.float32
        self.values = torch.as_tensor(values, dtype=dtype, device=device)[None, None]  # [1,1,X,Y,Z]
        self.lower = torch.as_tensor(lower, dtype=dtype, device=device)
        self.upper = self.lower + torch.as_tensor(voxel * (np.array(values.shape) - 1), dtype=dtype, device=device)

    def __call__(self, x: "torch.Tensor") -> "torch.Tensor":
        import torch
        import torch.nn.functional as F

        shape = x.shape[:-1]
        flat = x.reshape(-1, 3)
        clamped = torch.maximum(torch.minimum(flat, self.upper), self.lower)
        outside = (flat - clamped).norm(dim=-1)
        norm = 2 * (clamped - self.lower) / (self.upper - self.lower) - 1
        # grid_sample's last coordinate indexes the first spatial axis: reverse xyz.
        grid = norm.flip(-1)[None, :, None, None, :]
        values = F.grid_sample(self.values, grid, mode="bilinear", padding_mode="border", align_corners=True)
        return (values.reshape(-1) - outside).reshape(shape)


def _surface_samples(asset: ObjectAsset) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    _, links, _ = read_object_urdf(asset.urdf_path)
    poses = link_transforms(asset.urdf_path)
    meshes, owners = [], []
    for name, link in links.items():
        for path, origin in link.meshes:
            mesh = trimesh.load(path, force="mesh", process=True)
            mesh.apply_transform(poses[name] @ origin)
            meshes.append(mesh)
            owners.append(name)
    if not meshes:
        raise ValueError(f"{asset.urdf_path}: no link has a mesh to sample")
    areas = np.array([m.area for m in meshes])
    total = int(min(MAX_SURFACE_SAMPLES, areas.sum() / SAMPLE_SPACING_M**2))
    counts = np.maximum(1, np.round(total * areas / areas.sum()).astype(int))
    link_names = sorted(set(owners), key=list(links).index)
    pts, nrm, own = [], [], []
    for i, (mesh, count) in enumerate(zip(meshes, counts)):
        p, faces = trimesh.sample.sample_surface(mesh, int(count), seed=SHAPE_SEED + i)
        pts.append(p)
        nrm.append(mesh.face_normals[faces])
        own.append(np.full(len(p), link_names.index(owners[i])))
    return np.concatenate(pts), np.concatenate(nrm), np.concatenate(own), link_names


@lru_cache(maxsize=8)
def _shape_cached(folder: str, asset_id: str) -> ObjectShape:
    from dextog_gym.objects.catalog import load_object_dir

    return _build_shape(load_object_dir(folder))


def object_shape(asset: ObjectAsset) -> ObjectShape:
    """The rest geometry of ``asset`` (cached: building it costs about a second)."""
    return _shape_cached(str(asset.folder), asset.id)


def _build_shape(asset: ObjectAsset) -> ObjectShape:
    ann = asset.annotation
    points, normals, owner, link_names = _surface_samples(asset)
    poses = link_transforms(asset.urdf_path)
    parts = {}
    for name, part in ann.parts.items():
        pose = poses[part.link]
        pts = part.points @ pose[:3, :3].T + pose[:3, 3]
        parts[name] = (pts, None if part.normal is None else pose[:3, :3] @ part.normal)
    rest = np.eye(4)
    rest[:3, :3] = quat_wxyz_to_matrix(ann.resting_pose.quat_wxyz)
    rest[:3, 3] = ann.resting_pose.position
    return ObjectShape(asset.id, ann.category, points, normals, owner, link_names, parts, rest, ann.mass_kg,
                       cKDTree(points))
